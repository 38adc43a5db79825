-- Delivery (one district of the warehouse): its oldest new order delivered.
\set w random(1, :warehouses)
\set d random(1, 10)
BEGIN;
SELECT coalesce(min(no_o_id), 0) AS o_id FROM new_order WHERE no_w_id = :w AND no_d_id = :d \gset
DELETE FROM new_order WHERE no_w_id = :w AND no_d_id = :d AND no_o_id = :o_id;
UPDATE orders SET o_carrier_id = 1 WHERE o_w_id = :w AND o_d_id = :d AND o_id = :o_id;
UPDATE customer SET c_balance = c_balance + 1
 WHERE c_w_id = :w AND c_d_id = :d AND c_id = (SELECT o_c_id FROM orders WHERE o_w_id = :w AND o_d_id = :d AND o_id = :o_id);
COMMIT;
