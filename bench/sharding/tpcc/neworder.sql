-- New-Order: ten lines (the specification's average), each supplied by another
-- warehouse one time in a hundred.
\set w random(1, :warehouses)
\set d random(1, 10)
\set c random(1, 300)
BEGIN;
SELECT w_tax FROM warehouse WHERE w_id = :w;
UPDATE district SET d_next_o_id = d_next_o_id + 1 WHERE d_w_id = :w AND d_id = :d RETURNING d_next_o_id - 1 AS o_id \gset
SELECT c_discount FROM customer WHERE c_w_id = :w AND c_d_id = :d AND c_id = :c;
INSERT INTO orders (o_w_id, o_d_id, o_id, o_c_id) VALUES (:w, :d, :o_id, :c);
INSERT INTO new_order (no_w_id, no_d_id, no_o_id) VALUES (:w, :d, :o_id);
\set i1 random(1, 10000)
\set s1 case when random(1, 100) = 1 then (:w + random(0, :warehouses - 2)) % :warehouses + 1 else :w end
SELECT i_price FROM item WHERE i_id = :i1;
UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = :s1 AND s_i_id = :i1;
INSERT INTO order_line VALUES (:w, :d, :o_id, 1, :i1, :s1, 5);
\set i2 random(1, 10000)
\set s2 case when random(1, 100) = 1 then (:w + random(0, :warehouses - 2)) % :warehouses + 1 else :w end
SELECT i_price FROM item WHERE i_id = :i2;
UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = :s2 AND s_i_id = :i2;
INSERT INTO order_line VALUES (:w, :d, :o_id, 2, :i2, :s2, 5);
\set i3 random(1, 10000)
\set s3 case when random(1, 100) = 1 then (:w + random(0, :warehouses - 2)) % :warehouses + 1 else :w end
SELECT i_price FROM item WHERE i_id = :i3;
UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = :s3 AND s_i_id = :i3;
INSERT INTO order_line VALUES (:w, :d, :o_id, 3, :i3, :s3, 5);
\set i4 random(1, 10000)
\set s4 case when random(1, 100) = 1 then (:w + random(0, :warehouses - 2)) % :warehouses + 1 else :w end
SELECT i_price FROM item WHERE i_id = :i4;
UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = :s4 AND s_i_id = :i4;
INSERT INTO order_line VALUES (:w, :d, :o_id, 4, :i4, :s4, 5);
\set i5 random(1, 10000)
\set s5 case when random(1, 100) = 1 then (:w + random(0, :warehouses - 2)) % :warehouses + 1 else :w end
SELECT i_price FROM item WHERE i_id = :i5;
UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = :s5 AND s_i_id = :i5;
INSERT INTO order_line VALUES (:w, :d, :o_id, 5, :i5, :s5, 5);
\set i6 random(1, 10000)
\set s6 case when random(1, 100) = 1 then (:w + random(0, :warehouses - 2)) % :warehouses + 1 else :w end
SELECT i_price FROM item WHERE i_id = :i6;
UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = :s6 AND s_i_id = :i6;
INSERT INTO order_line VALUES (:w, :d, :o_id, 6, :i6, :s6, 5);
\set i7 random(1, 10000)
\set s7 case when random(1, 100) = 1 then (:w + random(0, :warehouses - 2)) % :warehouses + 1 else :w end
SELECT i_price FROM item WHERE i_id = :i7;
UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = :s7 AND s_i_id = :i7;
INSERT INTO order_line VALUES (:w, :d, :o_id, 7, :i7, :s7, 5);
\set i8 random(1, 10000)
\set s8 case when random(1, 100) = 1 then (:w + random(0, :warehouses - 2)) % :warehouses + 1 else :w end
SELECT i_price FROM item WHERE i_id = :i8;
UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = :s8 AND s_i_id = :i8;
INSERT INTO order_line VALUES (:w, :d, :o_id, 8, :i8, :s8, 5);
\set i9 random(1, 10000)
\set s9 case when random(1, 100) = 1 then (:w + random(0, :warehouses - 2)) % :warehouses + 1 else :w end
SELECT i_price FROM item WHERE i_id = :i9;
UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = :s9 AND s_i_id = :i9;
INSERT INTO order_line VALUES (:w, :d, :o_id, 9, :i9, :s9, 5);
\set i10 random(1, 10000)
\set s10 case when random(1, 100) = 1 then (:w + random(0, :warehouses - 2)) % :warehouses + 1 else :w end
SELECT i_price FROM item WHERE i_id = :i10;
UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = :s10 AND s_i_id = :i10;
INSERT INTO order_line VALUES (:w, :d, :o_id, 10, :i10, :s10, 5);
COMMIT;
