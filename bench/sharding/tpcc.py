#!/usr/bin/env python3
"""Sharding advice on TPC-C, side by side with what a user would do without it.

Starts a throwaway cluster with Augur preloaded (augur.sample_rate as a user would set
it), loads TPC-C's nine tables at --warehouses warehouses (tpcc/schema.sql, smaller than
the specification: 300 customers a district, 10,000 items), runs the five transactions
in the specification's mix with pgbench (tpcc/*.sql: New-Order 45 % with ten lines, 1 %
of them supplied by another warehouse; Payment 43 %, 15 % by another warehouse's
customer; Order-Status, Delivery, Stock-Level 4 % each), then asks
augur.recommend_sharding for each of --nodes (say 4, or 32,100 with many warehouses to
see the plan at scale on paper) with half the sampled transactions held out.

Every plan is scored on the held-out half the same way (the transactions' tables and
key values as the sampler saw them; a value's node by Augur's consistent hash unless the
plan places it): the share of transactions that touch more than one node, and the
busiest node's accesses over the mean.
  - by first key column: each table distributed by the first column of its primary key
    (history, which has none, by its first column), item included;
  - by own id: each table by the column that identifies its own rows (w_id, d_id, c_id, o_id, ...);
  - augur, keys hashed: Augur's table choices with every key value hashed;
  - observed co-access only (Schism-style): the plan with its key graph partitioned as
    sampled, no prediction (recommend_sharding's "predict": 0);
  - augur: Augur's plan as recommended, key values placed (from its evidence).

Uses only the Python 3 standard library and bench/pgbench_cluster.py.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pgbench_cluster import (Cluster, log, make_temp_root, pg_bindir, free_ports, run, run_benchmark,  # noqa: E402
                             wait_worker_running, require_runuser)
import shutil  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tpcc")
MASK = (1 << 64) - 1
MIX = [("neworder", 45), ("payment", 43), ("orderstatus", 4), ("delivery", 4), ("stocklevel", 4)]
FIRST_KEY_COLUMN = {"warehouse": "w_id", "district": "d_w_id", "customer": "c_w_id", "history": "h_c_w_id",
                    "orders": "o_w_id", "new_order": "no_w_id", "order_line": "ol_w_id", "item": "i_id", "stock": "s_w_id"}
OWN_ID = {"warehouse": "w_id", "district": "d_id", "customer": "c_id", "history": "h_c_id", "orders": "o_id",
          "new_order": "no_o_id", "order_line": "ol_o_id", "item": "i_id", "stock": "s_i_id"}


def stable_hash(text):
    """ConsistentPlacement.hash: FNV-1a, then SplitMix64's finaliser."""
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & MASK
    return h ^ (h >> 31)


def jump(key, nodes):
    """ConsistentPlacement.node: jump consistent hashing."""
    bucket, following = -1, 0
    while following < nodes:
        bucket = following
        key = (key * 2862933555777941757 + 1) & MASK
        following = int((bucket + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return bucket


def score(transactions, choices, nodes, placements=None):
    """(share of transactions on more than one node, busiest node's accesses / mean)."""
    placements = placements or {}
    node_of = lambda v: placements.get(v, jump(stable_hash(v), nodes))
    distributed, accesses = 0, [0.0] * nodes
    for tables, keys in transactions:
        touched, everywhere = set(), False
        for table in tables:
            choice = choices.get(table)
            if choice is None or choice == "reference":
                continue
            values = keys.get(table, {}).get(choice)
            if not values:
                everywhere = True
                break
            touched.update(node_of(v) for v in values)
        if everywhere:
            distributed += 1
            accesses = [a + 1 / nodes for a in accesses]
            continue
        if len(touched) > 1:
            distributed += 1
        for n in touched:
            accesses[n] += 1 / len(touched)
    mean = sum(accesses) / nodes
    return distributed / max(len(transactions), 1), (max(accesses) / mean if mean else 1.0)


def sampled_transactions(cluster):
    """Oldest first: (tables, {table: {column: set(values)}}), table names without schema."""
    rows = cluster.psql("""
        SELECT json_agg(t ORDER BY ended_at, pid, lxid) FROM (
          SELECT x.ended_at, x.pid, x.lxid,
                 (SELECT json_agg(c.relname) FROM unnest(x.relids) r JOIN pg_class c ON c.oid = r) AS tables,
                 (SELECT json_agg(json_build_array(c.relname, a.attname, k.value))
                    FROM augur.sampled_key k JOIN pg_class c ON c.oid = k.relid
                    JOIN pg_attribute a ON a.attrelid = k.relid AND a.attnum = k.attnum
                   WHERE (k.ended_at, k.pid, k.lxid) = (x.ended_at, x.pid, x.lxid)) AS keys
            FROM augur.sampled_xact x) t""")
    result = []
    for t in json.loads(rows or "[]"):
        keys = {}
        for table, column, value in t["keys"] or []:
            keys.setdefault(table, {}).setdefault(column, set()).add(value)
        result.append((set(t["tables"] or []), keys))
    return result


def load(cluster, warehouses):
    """TPC-C's nine tables at `warehouses` warehouses (tpcc/schema.sql)."""
    run([cluster.bin("psql")] + cluster.conn_args() + ["-d", "postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                                       "-v", f"warehouses={warehouses}", "-f", os.path.join(HERE, "schema.sql")])


def run_mix(cluster, warehouses, seconds, clients):
    """The five transactions in the specification's mix with pgbench; returns its tps."""
    scripts = sum([["-f", f"{os.path.join(HERE, name)}.sql@{weight}"] for name, weight in MIX], [])
    out = cluster.pgbench(["-n", "-c", str(clients), "-j", str(clients), "-T", str(seconds),
                           "-D", f"warehouses={warehouses}"] + scripts)
    line = next((l for l in out.stdout.splitlines() if l.startswith("tps")), "tps = 0")
    return float(line.split()[2])


def compare(cluster, nodes, transactions, held_out):
    """Augur's plan for `nodes` nodes beside the plans a user would make without it."""
    def plan(options):
        evidence = json.loads(cluster.psql(
            f"SELECT evidence FROM augur.recommend_sharding({nodes}, '{json.dumps(dict(held_out=0.5, **options))}')") or "null")
        if not evidence:
            raise RuntimeError("no plan: " + cluster.log_tail())
        return evidence
    observed = plan({"predict": 0})["held_out"]
    evidence = plan({})
    choices = {}
    for name, table in evidence["tables"].items():
        short = name.split(".")[-1]
        choices[short] = {"distributed": table.get("column"), "reference": "reference"}.get(table["choice"])
    log(f"\n== {nodes} nodes: {len(transactions)} sampled transactions, the later {len(held_out)} held out; "
        f"Augur's plan: " + ", ".join(f"{t} {c or 'local'}" for t, c in sorted(choices.items())))
    log(f"{'plan':<28} {'distributed (held out)':>23} {'busiest node / mean':>20}")
    for name, plan in [("by first key column", FIRST_KEY_COLUMN), ("by own id", OWN_ID),
                       ("augur, keys hashed", choices)]:
        share, balance = score(held_out, plan, nodes)
        log(f"{name:<28} {100 * share:>22.1f}% {balance:>20.2f}")
    log(f"{'observed co-access only':<28} {100 * observed['distributed_share']:>22.1f}% {observed['access_balance']:>20.2f}")
    h = evidence["held_out"]
    log(f"{'augur (keys placed)':<28} {100 * h['distributed_share']:>22.1f}% {h['access_balance']:>20.2f}")
    groups = evidence["key_groups"]
    log(f"learned from transactions standing for {evidence['learned_from']['transactions']:.0f}: "
        f"{100 * evidence['learned_from']['distributed_share']:.1f}% distributed, "
        f"busiest node {evidence['learned_from']['access_balance']:.2f}x the mean; key groups: "
        + ("; ".join(f"node {g['node']:.0f}: {', '.join(g['sample'])}" for g in groups) if len(groups) <= 8
           else f"{len(groups)} nodes, {min(g['keys'] for g in groups):.0f} to {max(g['keys'] for g in groups):.0f} keys each"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--warehouses", type=int, default=8)
    p.add_argument("--nodes", default="4", help="node counts to plan for, comma-separated (default 4)")
    p.add_argument("--seconds", type=int, default=60, help="length of the pgbench run (default 60)")
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--sample-rate", default="0.1", help="augur.sample_rate (default 0.1)")
    a = p.parse_args()

    _, bindir = pg_bindir()
    if os.geteuid() == 0:
        require_runuser()
    root = make_temp_root("augur-sharding-tpcc-")
    cluster = Cluster(root, free_ports(1)[0], bindir, {
        "augur.sample_rate": a.sample_rate, "augur.naptime": "1", "augur.max_sampled_xacts": "20000",
        "max_connections": "20"}, preload="augur", extensions=("augur",))

    def body():
        cluster.create()
        cluster.start()
        cluster.psql("CREATE EXTENSION augur")
        wait_worker_running(cluster, 30)
        load(cluster, a.warehouses)
        log(f"== TPC-C at {a.warehouses} warehouses; {a.seconds} s on {a.clients} clients, augur.sample_rate = {a.sample_rate}")
        log(f"   tps = {run_mix(cluster, a.warehouses, a.seconds, a.clients):.1f}")
        cluster.psql("SELECT augur.flush()")
        transactions = sampled_transactions(cluster)
        held_out = transactions[len(transactions) - int(len(transactions) * 0.5):]
        for nodes in [int(n) for n in a.nodes.split(",")]:
            compare(cluster, nodes, transactions, held_out)
        return 0

    def clean_up():
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)

    return run_benchmark(body, clean_up)


if __name__ == "__main__":
    sys.exit(main())
