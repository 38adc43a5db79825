-- The lineage case suite: each case is one or more statements, run in order against
-- schema.sql, and the exact set of column lineage edges they must produce, written by
-- hand as "target <- source SUBTYPE" (columns as schema.table.column, "public." left
-- out). A case with no "expect" line must produce no edge. Cases may rely on objects
-- earlier cases created.

-- case: insert-select copies columns, WHERE filters every written column
INSERT INTO order_copy SELECT id, customer_id, amount FROM orders WHERE status = 'paid';
-- expect: order_copy.id <- orders.id IDENTITY
-- expect: order_copy.customer_id <- orders.customer_id IDENTITY
-- expect: order_copy.amount <- orders.amount IDENTITY
-- expect: order_copy.id <- orders.status FILTER
-- expect: order_copy.customer_id <- orders.status FILTER
-- expect: order_copy.amount <- orders.status FILTER

-- case: insert with a column list
INSERT INTO order_copy (id) SELECT id FROM orders;
-- expect: order_copy.id <- orders.id IDENTITY

-- case: arithmetic is a transformation
INSERT INTO order_copy (id, amount) SELECT id, amount * 1.2 FROM orders;
-- expect: order_copy.id <- orders.id IDENTITY
-- expect: order_copy.amount <- orders.amount TRANSFORMATION

-- case: an implicit cast (int to bigint) keeps identity
INSERT INTO report (region, n) SELECT region, id FROM customers;
-- expect: report.region <- customers.region IDENTITY
-- expect: report.n <- customers.id IDENTITY

-- case: an explicit cast is a transformation
INSERT INTO audit (id, note) SELECT id, amount::text FROM orders;
-- expect: audit.id <- orders.id IDENTITY
-- expect: audit.note <- orders.amount TRANSFORMATION

-- case: aggregate over a join, grouped
INSERT INTO report
SELECT c.region, sum(o.amount), count(*) FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.region;
-- expect: report.region <- customers.region IDENTITY
-- expect: report.total <- orders.amount AGGREGATION
-- expect: report.region <- customers.id JOIN
-- expect: report.region <- orders.customer_id JOIN
-- expect: report.region <- customers.region GROUP_BY
-- expect: report.total <- customers.id JOIN
-- expect: report.total <- orders.customer_id JOIN
-- expect: report.total <- customers.region GROUP_BY
-- expect: report.n <- customers.id JOIN
-- expect: report.n <- orders.customer_id JOIN
-- expect: report.n <- customers.region GROUP_BY

-- case: HAVING filters
INSERT INTO report (region, n) SELECT region, count(*) FROM customers GROUP BY region HAVING min(created) > '2020-01-01';
-- expect: report.region <- customers.region IDENTITY
-- expect: report.region <- customers.region GROUP_BY
-- expect: report.region <- customers.created FILTER
-- expect: report.n <- customers.region GROUP_BY
-- expect: report.n <- customers.created FILTER

-- case: update from its own columns
UPDATE orders SET amount = amount * 2 WHERE status = 'open';
-- expect: orders.amount <- orders.amount TRANSFORMATION
-- expect: orders.amount <- orders.status FILTER

-- case: update ... from another table
UPDATE orders o SET status = s.status FROM staging s WHERE s.id = o.id;
-- expect: orders.status <- staging.status IDENTITY
-- expect: orders.status <- staging.id JOIN
-- expect: orders.status <- orders.id JOIN

-- case: update of several columns, one set to a constant
UPDATE customers SET name = upper(name), region = 'EU' WHERE id = 1;
-- expect: customers.name <- customers.name TRANSFORMATION
-- expect: customers.name <- customers.id FILTER
-- expect: customers.region <- customers.id FILTER

-- case: update set from a correlated scalar subquery
UPDATE customers c SET region = (SELECT max(s.status) FROM staging s WHERE s.customer_id = c.id);
-- expect: customers.region <- staging.status AGGREGATION
-- expect: customers.region <- staging.customer_id FILTER
-- expect: customers.region <- customers.id FILTER

-- case: IN (subquery) in WHERE filters through the subquery
UPDATE orders SET status = 'vip' WHERE customer_id IN (SELECT id FROM customers WHERE region = 'EU');
-- expect: orders.status <- orders.customer_id FILTER
-- expect: orders.status <- customers.id FILTER
-- expect: orders.status <- customers.region FILTER

-- case: correlated EXISTS filters
INSERT INTO audit (id) SELECT o.id FROM orders o WHERE EXISTS (SELECT 1 FROM items i WHERE i.order_id = o.id);
-- expect: audit.id <- orders.id IDENTITY
-- expect: audit.id <- items.order_id FILTER
-- expect: audit.id <- orders.id FILTER

-- case: a CTE passes values and its filter through
WITH paid AS (SELECT id, amount FROM orders WHERE status = 'paid')
INSERT INTO order_copy (id, amount) SELECT id, amount FROM paid;
-- expect: order_copy.id <- orders.id IDENTITY
-- expect: order_copy.amount <- orders.amount IDENTITY
-- expect: order_copy.id <- orders.status FILTER
-- expect: order_copy.amount <- orders.status FILTER

-- case: a chain of CTEs with grouping
WITH a AS (SELECT id, customer_id FROM orders),
     b AS (SELECT customer_id, count(*) AS n FROM a GROUP BY customer_id)
INSERT INTO customer_stats (customer_id, rank) SELECT customer_id, n FROM b;
-- expect: customer_stats.customer_id <- orders.customer_id IDENTITY
-- expect: customer_stats.customer_id <- orders.customer_id GROUP_BY
-- expect: customer_stats.rank <- orders.customer_id GROUP_BY

-- case: a subquery in FROM with its own filter
INSERT INTO order_copy (id, amount)
SELECT s.id, s.total FROM (SELECT id, amount + 1 AS total FROM orders WHERE placed > '2026-01-01') s;
-- expect: order_copy.id <- orders.id IDENTITY
-- expect: order_copy.amount <- orders.amount TRANSFORMATION
-- expect: order_copy.id <- orders.placed FILTER
-- expect: order_copy.amount <- orders.placed FILTER

-- case: UNION ALL takes values from every branch
INSERT INTO audit (id, note) SELECT id, status FROM orders UNION ALL SELECT id, name FROM customers;
-- expect: audit.id <- orders.id IDENTITY
-- expect: audit.id <- customers.id IDENTITY
-- expect: audit.note <- orders.status IDENTITY
-- expect: audit.note <- customers.name IDENTITY

-- case: UNION branches keep their filters
INSERT INTO audit (id) SELECT id FROM orders WHERE status = 'x' UNION SELECT order_id FROM items WHERE qty > 1;
-- expect: audit.id <- orders.id IDENTITY
-- expect: audit.id <- items.order_id IDENTITY
-- expect: audit.id <- orders.status FILTER
-- expect: audit.id <- items.qty FILTER

-- case: EXCEPT's right side only filters
INSERT INTO audit (id) SELECT id FROM orders EXCEPT SELECT order_id FROM items;
-- expect: audit.id <- orders.id IDENTITY
-- expect: audit.id <- items.order_id FILTER

-- case: DISTINCT ON groups, ORDER BY sorts
INSERT INTO order_copy (id, customer_id)
SELECT DISTINCT ON (customer_id) id, customer_id FROM orders ORDER BY customer_id, placed DESC;
-- expect: order_copy.id <- orders.id IDENTITY
-- expect: order_copy.customer_id <- orders.customer_id IDENTITY
-- expect: order_copy.id <- orders.customer_id GROUP_BY
-- expect: order_copy.id <- orders.customer_id SORT
-- expect: order_copy.id <- orders.placed SORT
-- expect: order_copy.customer_id <- orders.customer_id GROUP_BY
-- expect: order_copy.customer_id <- orders.customer_id SORT
-- expect: order_copy.customer_id <- orders.placed SORT

-- case: plain DISTINCT groups by the column itself
INSERT INTO audit (note) SELECT DISTINCT status FROM orders;
-- expect: audit.note <- orders.status IDENTITY
-- expect: audit.note <- orders.status GROUP_BY

-- case: window functions: the aggregate is direct, PARTITION BY and ORDER BY shape one column
INSERT INTO customer_stats
SELECT customer_id, sum(amount) OVER (PARTITION BY customer_id), rank() OVER (ORDER BY amount DESC) FROM orders;
-- expect: customer_stats.customer_id <- orders.customer_id IDENTITY
-- expect: customer_stats.total <- orders.amount AGGREGATION
-- expect: customer_stats.total <- orders.customer_id WINDOW
-- expect: customer_stats.rank <- orders.amount WINDOW

-- case: top row per group: the window's columns decide the rows
INSERT INTO order_copy (id, customer_id)
SELECT id, customer_id FROM (
    SELECT id, customer_id, row_number() OVER (PARTITION BY customer_id ORDER BY placed DESC) AS rn FROM orders) r
WHERE rn = 1;
-- expect: order_copy.id <- orders.id IDENTITY
-- expect: order_copy.customer_id <- orders.customer_id IDENTITY
-- expect: order_copy.id <- orders.customer_id FILTER
-- expect: order_copy.id <- orders.placed FILTER
-- expect: order_copy.customer_id <- orders.customer_id FILTER
-- expect: order_copy.customer_id <- orders.placed FILTER

-- case: LATERAL subquery correlated with the outer row
INSERT INTO order_copy (id, amount)
SELECT o.id, l.total FROM orders o, LATERAL (SELECT sum(i.qty * i.price) AS total FROM items i WHERE i.order_id = o.id) l;
-- expect: order_copy.id <- orders.id IDENTITY
-- expect: order_copy.amount <- items.qty AGGREGATION
-- expect: order_copy.amount <- items.price AGGREGATION
-- expect: order_copy.id <- items.order_id FILTER
-- expect: order_copy.id <- orders.id FILTER
-- expect: order_copy.amount <- items.order_id FILTER
-- expect: order_copy.amount <- orders.id FILTER

-- case: LATERAL set-returning function
INSERT INTO audit (id, note) SELECT e.id, t.tag FROM events e, LATERAL unnest(e.tags) AS t(tag);
-- expect: audit.id <- events.id IDENTITY
-- expect: audit.note <- events.tags TRANSFORMATION

-- case: DELETE ... RETURNING in a writable CTE moves rows, with the DELETE's filter
WITH moved AS (DELETE FROM staging WHERE status = 'done' RETURNING id, amount)
INSERT INTO order_copy (id, amount) SELECT id, amount FROM moved;
-- expect: order_copy.id <- staging.id IDENTITY
-- expect: order_copy.amount <- staging.amount IDENTITY
-- expect: order_copy.id <- staging.status FILTER
-- expect: order_copy.amount <- staging.status FILTER

-- case: INSERT ... RETURNING in a writable CTE: both writes have lineage
WITH ins AS (INSERT INTO orders (id, customer_id, amount) SELECT id, customer_id, amount FROM staging RETURNING id, amount)
INSERT INTO audit (id, note) SELECT id, amount::text FROM ins;
-- expect: orders.id <- staging.id IDENTITY
-- expect: orders.customer_id <- staging.customer_id IDENTITY
-- expect: orders.amount <- staging.amount IDENTITY
-- expect: audit.id <- orders.id IDENTITY
-- expect: audit.note <- orders.amount TRANSFORMATION

-- case: INSERT ... VALUES has no column sources
INSERT INTO audit VALUES (1, 'x');

-- case: a constant column still gets the row filter
INSERT INTO audit (id, note) SELECT id, 'fixed' FROM orders WHERE amount IS NULL;
-- expect: audit.id <- orders.id IDENTITY
-- expect: audit.id <- orders.amount FILTER
-- expect: audit.note <- orders.amount FILTER

-- case: CASE conditions are conditional, its results transformations
INSERT INTO audit (id, note) SELECT id, CASE WHEN amount > 100 THEN 'big' ELSE status END FROM orders;
-- expect: audit.id <- orders.id IDENTITY
-- expect: audit.note <- orders.amount CONDITIONAL
-- expect: audit.note <- orders.status TRANSFORMATION

-- case: COALESCE of two columns
INSERT INTO audit (id, note) SELECT id, coalesce(name, region) FROM customers;
-- expect: audit.id <- customers.id IDENTITY
-- expect: audit.note <- customers.name TRANSFORMATION
-- expect: audit.note <- customers.region TRANSFORMATION

-- case: string concatenation
UPDATE customers SET name = name || ' (' || region || ')';
-- expect: customers.name <- customers.name TRANSFORMATION
-- expect: customers.name <- customers.region TRANSFORMATION

-- case: JOIN ... USING through a subquery
INSERT INTO order_copy (id, customer_id)
SELECT o.id, customer_id FROM orders o JOIN (SELECT id AS customer_id FROM customers) c USING (customer_id);
-- expect: order_copy.id <- orders.id IDENTITY
-- expect: order_copy.customer_id <- orders.customer_id IDENTITY
-- expect: order_copy.id <- orders.customer_id JOIN
-- expect: order_copy.id <- customers.id JOIN
-- expect: order_copy.customer_id <- orders.customer_id JOIN
-- expect: order_copy.customer_id <- customers.id JOIN

-- case: FULL JOIN ... USING merges both sides
INSERT INTO audit (id)
SELECT id FROM (SELECT id FROM orders) a FULL JOIN (SELECT order_id AS id FROM items) b USING (id);
-- expect: audit.id <- orders.id TRANSFORMATION
-- expect: audit.id <- items.order_id TRANSFORMATION
-- expect: audit.id <- orders.id JOIN
-- expect: audit.id <- items.order_id JOIN

-- case: MERGE: per-action columns and condition, the ON keys decide every action
MERGE INTO customers c USING staging s ON c.id = s.customer_id
WHEN MATCHED AND s.status = 'closed' THEN UPDATE SET region = s.status
WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.customer_id, s.payload ->> 'name');
-- expect: customers.region <- staging.status IDENTITY
-- expect: customers.region <- staging.status FILTER
-- expect: customers.id <- staging.customer_id IDENTITY
-- expect: customers.name <- staging.payload TRANSFORMATION
-- expect: customers.region <- customers.id JOIN
-- expect: customers.region <- staging.customer_id JOIN
-- expect: customers.id <- customers.id JOIN
-- expect: customers.id <- staging.customer_id JOIN
-- expect: customers.name <- customers.id JOIN
-- expect: customers.name <- staging.customer_id JOIN

-- case: MERGE from an aggregating subquery
MERGE INTO report r
USING (SELECT region, sum(amount) AS total FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY region) s
ON r.region = s.region
WHEN MATCHED THEN UPDATE SET total = s.total;
-- expect: report.total <- orders.amount AGGREGATION
-- expect: report.total <- report.region JOIN
-- expect: report.total <- customers.region JOIN
-- expect: report.total <- customers.id JOIN
-- expect: report.total <- orders.customer_id JOIN
-- expect: report.total <- customers.region GROUP_BY

-- case: CREATE TABLE AS
CREATE TABLE region_totals AS
SELECT c.region, sum(o.amount) AS total FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.region;
-- expect: region_totals.region <- customers.region IDENTITY
-- expect: region_totals.total <- orders.amount AGGREGATION
-- expect: region_totals.region <- customers.id JOIN
-- expect: region_totals.region <- orders.customer_id JOIN
-- expect: region_totals.region <- customers.region GROUP_BY
-- expect: region_totals.total <- customers.id JOIN
-- expect: region_totals.total <- orders.customer_id JOIN
-- expect: region_totals.total <- customers.region GROUP_BY

-- case: SELECT INTO
SELECT id, amount * 2 AS doubled INTO doubled_orders FROM orders WHERE status = 'paid';
-- expect: doubled_orders.id <- orders.id IDENTITY
-- expect: doubled_orders.doubled <- orders.amount TRANSFORMATION
-- expect: doubled_orders.id <- orders.status FILTER
-- expect: doubled_orders.doubled <- orders.status FILTER

-- case: CREATE VIEW traces the view's definition
CREATE VIEW paid_orders AS SELECT id, amount FROM orders WHERE status = 'paid';
-- expect: paid_orders.id <- orders.id IDENTITY
-- expect: paid_orders.amount <- orders.amount IDENTITY
-- expect: paid_orders.id <- orders.status FILTER
-- expect: paid_orders.amount <- orders.status FILTER

-- case: a view on a view keeps the inner view as a node
CREATE VIEW paid_big AS SELECT id FROM paid_orders WHERE amount > 1000;
-- expect: paid_big.id <- paid_orders.id IDENTITY
-- expect: paid_big.id <- paid_orders.amount FILTER

-- case: reading a view
INSERT INTO order_copy (id, amount) SELECT id, amount FROM big_orders;
-- expect: order_copy.id <- big_orders.id IDENTITY
-- expect: order_copy.amount <- big_orders.amount IDENTITY

-- case: reading a view on a view
INSERT INTO audit (id, note) SELECT id, name FROM big_orders_named;
-- expect: audit.id <- big_orders_named.id IDENTITY
-- expect: audit.note <- big_orders_named.name IDENTITY

-- case: CREATE MATERIALIZED VIEW
CREATE MATERIALIZED VIEW sku_sales AS SELECT sku, sum(qty) AS qty FROM items GROUP BY sku;
-- expect: sku_sales.sku <- items.sku IDENTITY
-- expect: sku_sales.sku <- items.sku GROUP_BY
-- expect: sku_sales.qty <- items.qty AGGREGATION
-- expect: sku_sales.qty <- items.sku GROUP_BY

-- case: REFRESH MATERIALIZED VIEW traces the stored definition again
REFRESH MATERIALIZED VIEW sku_sales;
-- expect: sku_sales.sku <- items.sku IDENTITY
-- expect: sku_sales.sku <- items.sku GROUP_BY
-- expect: sku_sales.qty <- items.qty AGGREGATION
-- expect: sku_sales.qty <- items.sku GROUP_BY

-- case: a view over a UNION
CREATE VIEW all_ids AS SELECT id FROM orders UNION SELECT id FROM customers;
-- expect: all_ids.id <- orders.id IDENTITY
-- expect: all_ids.id <- customers.id IDENTITY

-- case: CREATE OR REPLACE VIEW with a new column
CREATE OR REPLACE VIEW paid_orders AS SELECT id, amount, placed FROM orders WHERE status = 'paid';
-- expect: paid_orders.id <- orders.id IDENTITY
-- expect: paid_orders.amount <- orders.amount IDENTITY
-- expect: paid_orders.placed <- orders.placed IDENTITY
-- expect: paid_orders.id <- orders.status FILTER
-- expect: paid_orders.amount <- orders.status FILTER
-- expect: paid_orders.placed <- orders.status FILTER

-- case: COPY FROM PROGRAM with a column list: field n feeds the n-th listed column
COPY audit (note, id) FROM PROGRAM 'echo x,1' WITH (FORMAT csv);
-- expect: audit.note <- program:1 IDENTITY
-- expect: audit.id <- program:2 IDENTITY

-- case: COPY FROM a file into every column (COPY TO PROGRAM writes it, with no lineage)
COPY (SELECT 1, 2, 3.0) TO PROGRAM 'cat > augur_lineage_case.csv' WITH (FORMAT csv);
COPY order_copy FROM 'augur_lineage_case.csv' WITH (FORMAT csv);
-- expect: order_copy.id <- file:1 IDENTITY
-- expect: order_copy.customer_id <- file:2 IDENTITY
-- expect: order_copy.amount <- file:3 IDENTITY

-- case: writing a partitioned table
INSERT INTO events SELECT id, status, now(), ARRAY[status] FROM orders;
-- expect: events.id <- orders.id IDENTITY
-- expect: events.kind <- orders.status IDENTITY
-- expect: events.tags <- orders.status TRANSFORMATION

-- case: a partition read directly is given as its root
INSERT INTO event_summary SELECT kind, count(*), max(at) FROM events_2026 GROUP BY kind;
-- expect: event_summary.kind <- events.kind IDENTITY
-- expect: event_summary.kind <- events.kind GROUP_BY
-- expect: event_summary.n <- events.kind GROUP_BY
-- expect: event_summary.last_at <- events.at AGGREGATION
-- expect: event_summary.last_at <- events.kind GROUP_BY

-- case: a partition written directly is given as its root (date to timestamptz is implicit)
INSERT INTO events_2026 (id, kind, at) SELECT id, status, placed FROM orders;
-- expect: events.id <- orders.id IDENTITY
-- expect: events.kind <- orders.status IDENTITY
-- expect: events.at <- orders.placed IDENTITY

-- case: PL/pgSQL function body with augur.track = all
SET augur.track = 'all';
SELECT archive_paid();
RESET augur.track;
-- expect: audit.id <- orders.id IDENTITY
-- expect: audit.note <- orders.status IDENTITY
-- expect: audit.id <- orders.status FILTER
-- expect: audit.note <- orders.status FILTER

-- case: PL/pgSQL parameters are not columns
SET augur.track = 'all';
SELECT bump(10);
RESET augur.track;
-- expect: orders.amount <- orders.amount TRANSFORMATION
-- expect: orders.amount <- orders.customer_id FILTER

-- case: ORDER BY with LIMIT sorts
INSERT INTO order_copy (id) SELECT id FROM orders ORDER BY amount DESC LIMIT 10;
-- expect: order_copy.id <- orders.id IDENTITY
-- expect: order_copy.id <- orders.amount SORT

-- case: an aggregate's FILTER filters its own column only
INSERT INTO report (region, n)
SELECT region, count(*) FILTER (WHERE created > '2026-01-01') FROM customers GROUP BY region;
-- expect: report.region <- customers.region IDENTITY
-- expect: report.region <- customers.region GROUP_BY
-- expect: report.n <- customers.created FILTER
-- expect: report.n <- customers.region GROUP_BY

-- case: a correlated scalar subquery in the select list
INSERT INTO customer_stats (customer_id, total)
SELECT c.id, (SELECT sum(amount) FROM orders o WHERE o.customer_id = c.id) FROM customers c;
-- expect: customer_stats.customer_id <- customers.id IDENTITY
-- expect: customer_stats.total <- orders.amount AGGREGATION
-- expect: customer_stats.total <- orders.customer_id FILTER
-- expect: customer_stats.total <- customers.id FILTER

-- case: a scalar subquery with a join inside
INSERT INTO audit (id, note)
SELECT c.id, (SELECT string_agg(sku, ',') FROM items i JOIN orders o ON o.id = i.order_id WHERE o.customer_id = c.id)
FROM customers c;
-- expect: audit.id <- customers.id IDENTITY
-- expect: audit.note <- items.sku AGGREGATION
-- expect: audit.note <- items.order_id JOIN
-- expect: audit.note <- orders.id JOIN
-- expect: audit.note <- orders.customer_id FILTER
-- expect: audit.note <- customers.id FILTER

-- case: a recursive CTE
WITH RECURSIVE chain(id) AS (
    SELECT id FROM orders WHERE id = 1
    UNION ALL
    SELECT o.id FROM orders o JOIN chain c ON o.customer_id = c.id)
INSERT INTO audit (id) SELECT id FROM chain;
-- expect: audit.id <- orders.id IDENTITY
-- expect: audit.id <- orders.id FILTER
-- expect: audit.id <- orders.customer_id JOIN
-- expect: audit.id <- orders.id JOIN

-- case: INSERT ... ON CONFLICT DO UPDATE
INSERT INTO customers (id, name) SELECT customer_id, status FROM staging
ON CONFLICT (id) DO UPDATE SET name = excluded.name;
-- expect: customers.id <- staging.customer_id IDENTITY
-- expect: customers.name <- staging.status IDENTITY

-- case: UPDATE ... FROM an aggregating CTE
WITH totals AS (SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id)
UPDATE customer_stats cs SET total = t.total FROM totals t WHERE t.customer_id = cs.customer_id;
-- expect: customer_stats.total <- orders.amount AGGREGATION
-- expect: customer_stats.total <- orders.customer_id JOIN
-- expect: customer_stats.total <- customer_stats.customer_id JOIN
-- expect: customer_stats.total <- orders.customer_id GROUP_BY

-- case: a set-returning function of constants has no column sources
INSERT INTO audit (id) SELECT g FROM generate_series(1, 10) g;

-- case: DELETE writes no column
DELETE FROM audit WHERE id < 0;

-- case: a table in another schema
INSERT INTO mart.daily SELECT placed, sum(amount) FROM orders GROUP BY placed;
-- expect: mart.daily.day <- orders.placed IDENTITY
-- expect: mart.daily.day <- orders.placed GROUP_BY
-- expect: mart.daily.revenue <- orders.amount AGGREGATION
-- expect: mart.daily.revenue <- orders.placed GROUP_BY

-- case: quoted identifiers
INSERT INTO "Audit Log" SELECT name FROM customers;
-- expect: "Audit Log"."Note" <- customers.name IDENTITY

-- case: a jsonb field
INSERT INTO audit (id, note) SELECT id, payload ->> 'note' FROM staging;
-- expect: audit.id <- staging.id IDENTITY
-- expect: audit.note <- staging.payload TRANSFORMATION

-- case: IN lists and BETWEEN filter
INSERT INTO order_copy (id) SELECT id FROM orders WHERE status IN ('a', 'b') AND customer_id BETWEEN 1 AND 5;
-- expect: order_copy.id <- orders.id IDENTITY
-- expect: order_copy.id <- orders.status FILTER
-- expect: order_copy.id <- orders.customer_id FILTER

-- case: a self join: equality joins, inequality filters
INSERT INTO order_copy (id, customer_id)
SELECT a.id, b.id FROM orders a JOIN orders b ON a.customer_id = b.customer_id AND a.id < b.id;
-- expect: order_copy.id <- orders.id IDENTITY
-- expect: order_copy.customer_id <- orders.id IDENTITY
-- expect: order_copy.id <- orders.customer_id JOIN
-- expect: order_copy.id <- orders.id FILTER
-- expect: order_copy.customer_id <- orders.customer_id JOIN
-- expect: order_copy.customer_id <- orders.id FILTER
