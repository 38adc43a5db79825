-- TPC-C's nine tables, the columns the five transactions use, at :warehouses warehouses
-- (10 districts each, 300 customers a district, 10,000 items; the specification has
-- 3,000 customers and 100,000 items: smaller, so that loading takes seconds).
CREATE TABLE warehouse (w_id int PRIMARY KEY, w_tax numeric NOT NULL DEFAULT 0.1, w_ytd numeric NOT NULL DEFAULT 0);
CREATE TABLE district (d_w_id int REFERENCES warehouse, d_id int, d_ytd numeric NOT NULL DEFAULT 0,
                       d_next_o_id int NOT NULL DEFAULT 1, PRIMARY KEY (d_w_id, d_id));
CREATE TABLE customer (c_w_id int, c_d_id int, c_id int, c_discount numeric NOT NULL DEFAULT 0.05,
                       c_balance numeric NOT NULL DEFAULT 0, PRIMARY KEY (c_w_id, c_d_id, c_id),
                       FOREIGN KEY (c_w_id, c_d_id) REFERENCES district);
CREATE TABLE history (h_c_w_id int, h_c_d_id int, h_c_id int, h_w_id int, h_d_id int, h_amount numeric,
                      FOREIGN KEY (h_c_w_id, h_c_d_id, h_c_id) REFERENCES customer,
                      FOREIGN KEY (h_w_id, h_d_id) REFERENCES district);
CREATE TABLE orders (o_w_id int, o_d_id int, o_id int, o_c_id int, o_carrier_id int,
                     PRIMARY KEY (o_w_id, o_d_id, o_id));
CREATE INDEX ON orders (o_w_id, o_d_id, o_c_id);
CREATE TABLE new_order (no_w_id int, no_d_id int, no_o_id int, PRIMARY KEY (no_w_id, no_d_id, no_o_id));
CREATE TABLE item (i_id int PRIMARY KEY, i_price numeric NOT NULL);
CREATE TABLE stock (s_w_id int REFERENCES warehouse, s_i_id int REFERENCES item, s_quantity int NOT NULL,
                    PRIMARY KEY (s_w_id, s_i_id));
CREATE TABLE order_line (ol_w_id int, ol_d_id int, ol_o_id int, ol_number int, ol_i_id int, ol_supply_w_id int,
                         ol_quantity int, PRIMARY KEY (ol_w_id, ol_d_id, ol_o_id, ol_number));
INSERT INTO warehouse (w_id) SELECT g FROM generate_series(1, :warehouses) g;
INSERT INTO district (d_w_id, d_id) SELECT w, d FROM generate_series(1, :warehouses) w, generate_series(1, 10) d;
INSERT INTO customer (c_w_id, c_d_id, c_id)
SELECT w, d, c FROM generate_series(1, :warehouses) w, generate_series(1, 10) d, generate_series(1, 300) c;
INSERT INTO item SELECT g, 1 + g % 100 FROM generate_series(1, 10000) g;
INSERT INTO stock SELECT w, i, 100 FROM generate_series(1, :warehouses) w, generate_series(1, 10000) i;
ANALYZE;
