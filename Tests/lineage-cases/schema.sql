-- The schema the lineage case suite (cases.sql) runs against. Read by
-- Tests/IntegrationTests/LineageCaseTests.swift and bench/lineage_compare.py.
CREATE TABLE customers (id int PRIMARY KEY, name text, region text, created date);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount numeric, status text, placed date);
CREATE TABLE items (order_id int, sku text, qty int, price numeric);
CREATE TABLE staging (id int, customer_id int, amount numeric, status text, placed date, payload jsonb);
CREATE TABLE report (region text, total numeric, n bigint);
CREATE TABLE order_copy (id int, customer_id int, amount numeric);
CREATE TABLE customer_stats (customer_id int, total numeric, rank bigint);
CREATE TABLE audit (id int, note text);
CREATE TABLE "Audit Log" ("Note" text);
CREATE TABLE events (id int, kind text, at timestamptz, tags text[]) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE event_summary (kind text, n bigint, last_at timestamptz);
CREATE SCHEMA mart;
CREATE TABLE mart.daily (day date, revenue numeric);
CREATE VIEW big_orders AS SELECT id, customer_id, amount FROM orders WHERE amount > 100;
CREATE VIEW big_orders_named AS
    SELECT b.id, c.name FROM big_orders b JOIN customers c ON c.id = b.customer_id;
CREATE FUNCTION archive_paid() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit (id, note) SELECT id, status FROM orders WHERE status = 'paid';
END $$;
CREATE FUNCTION bump(pct numeric) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders SET amount = amount * (1 + pct / 100) WHERE customer_id = 7;
END $$;
