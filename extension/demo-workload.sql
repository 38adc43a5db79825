-- A small bundled workload for the demo (a pgbench script over pgbench's tables).
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
SELECT count(*) FROM pgbench_accounts WHERE abalance = :delta;
SELECT b.bbalance, sum(t.tbalance) FROM pgbench_branches b JOIN pgbench_tellers t USING (bid)
 WHERE b.bid = :bid GROUP BY b.bbalance;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, now());
