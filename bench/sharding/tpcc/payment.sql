-- Payment: by a customer of another warehouse 15 % of the time.
\set w random(1, :warehouses)
\set d random(1, 10)
\set c random(1, 300)
\set cw case when random(1, 100) <= 15 then (:w + random(0, :warehouses - 2)) % :warehouses + 1 else :w end
BEGIN;
UPDATE warehouse SET w_ytd = w_ytd + 10 WHERE w_id = :w;
UPDATE district SET d_ytd = d_ytd + 10 WHERE d_w_id = :w AND d_id = :d;
UPDATE customer SET c_balance = c_balance - 10 WHERE c_w_id = :cw AND c_d_id = :d AND c_id = :c;
INSERT INTO history (h_c_w_id, h_c_d_id, h_c_id, h_w_id, h_d_id, h_amount) VALUES (:cw, :d, :c, :w, :d, 10);
COMMIT;
