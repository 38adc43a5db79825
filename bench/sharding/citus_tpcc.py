#!/usr/bin/env python3
"""Augur's sharding plan applied on a real Citus cluster, measured there.

Starts a Citus coordinator and --workers workers on loopback ports (each with
shared_preload_libraries = 'citus,augur', wal_level = logical), loads TPC-C at
--warehouses warehouses on the coordinator as plain local tables (tpcc/schema.sql), runs
the specification's mix with pgbench (the single-server baseline, Augur sampling
transactions), asks augur.recommend_sharding(--workers) with half the sampled
transactions held out, approves and applies the plan (the collector distributes the
tables in one transaction, then moves shards until every placed warehouse is on its
worker), runs the mix again on the now distributed tables, and reports:
  - the plan's predicted share of transactions touching more than one node (held out);
  - the measured share on the cluster (augur.sharding_measure: the transactions sampled
    since the apply, each warehouse on the node Citus has it on), beside the plan's own
    prediction for those same transactions;
  - how long the apply and the placement took, and the throughput before and after (all
    servers share this machine's cores: the ratio says what distribution costs here, not
    what more machines would give).

Needs Citus installed in the server pg_config names (extension/deps builds it). Uses only
the Python 3 standard library and bench/pgbench_cluster.py.
"""
import argparse
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from pgbench_cluster import (Cluster, log, make_temp_root, pg_bindir, pg_config_value, free_ports, run_benchmark,  # noqa: E402
                             wait_worker_running, require_runuser)
from tpcc import load, run_mix  # noqa: E402


def wait_for(cluster, sql, expected, timeout):
    """Polls `sql` until it returns `expected`; the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if cluster.psql(sql) == expected:
            return time.monotonic() - start
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {sql!r} to be {expected!r}: {cluster.psql(sql)!r}\n{cluster.log_tail()}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--warehouses", type=int, default=8)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--seconds", type=int, default=60, help="length of each pgbench run (default 60)")
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--sample-rate", default="0.1", help="augur.sample_rate on the coordinator (default 0.1)")
    a = p.parse_args()

    pg_config, bindir = pg_bindir()
    if not os.path.exists(os.path.join(pg_config_value(pg_config, "--pkglibdir"), "citus.so")):
        sys.exit("Citus is not installed in this server (extension/deps builds it)")
    if os.geteuid() == 0:
        require_runuser()
    root = make_temp_root("augur-citus-tpcc-")
    ports = free_ports(a.workers + 1)
    common = {"wal_level": "logical", "max_replication_slots": "20", "max_wal_senders": "20", "max_connections": "60",
              "listen_addresses": "'127.0.0.1'", "augur.naptime": "1"}
    nodes = [Cluster(root, port, bindir, dict(common, **({"augur.sample_rate": a.sample_rate,
                                                           "augur.max_sampled_xacts": "20000"} if i == 0 else {})),
                     name="coordinator" if i == 0 else f"worker{i}", preload="citus,augur", extensions=("citus", "augur"),
                     use_tcp=True)
             for i, port in enumerate(ports)]
    coordinator, workers = nodes[0], nodes[1:]

    def body():
        for node in nodes:
            node.create()
            node.start()
            node.psql("CREATE EXTENSION citus; CREATE EXTENSION augur")
        wait_worker_running(coordinator, 30)
        coordinator.psql(f"SELECT citus_set_coordinator_host('127.0.0.1', {coordinator.port})")
        for worker in workers:
            coordinator.psql(f"SELECT citus_add_node('127.0.0.1', {worker.port})")
        load(coordinator, a.warehouses)
        log(f"== TPC-C at {a.warehouses} warehouses, a coordinator and {a.workers} workers on this machine; "
            f"{a.seconds} s runs on {a.clients} clients")
        single = run_mix(coordinator, a.warehouses, a.seconds, a.clients)
        log(f"   local tables on the coordinator: {single:.1f} tps")
        coordinator.psql("SELECT augur.flush()")
        plan = coordinator.psql(f"""
            SELECT id || '|' || (evidence -> 'held_out' ->> 'distributed_share')
              FROM augur.recommend_sharding({a.workers}, '{{"held_out": 0.5}}')""")
        if not plan:
            raise RuntimeError("no plan: " + coordinator.log_tail())
        plan_id, predicted = plan.split("|")
        log(f"   plan {plan_id}: {100 * float(predicted):.1f}% of the held-out transactions predicted on more than one node")
        coordinator.psql(f"SELECT augur.approve({plan_id}); SELECT augur.apply({plan_id})")
        applied = wait_for(coordinator, f"SELECT status IN ('applied', 'failed') FROM augur.recommendation WHERE id = {plan_id}",
                           "t", 600)
        if coordinator.psql(f"SELECT status FROM augur.recommendation WHERE id = {plan_id}") != "applied":
            raise RuntimeError("the apply failed: " + coordinator.psql(
                f"SELECT string_agg(error, '; ') FROM augur.action_log WHERE recommendation_id = {plan_id}"))
        placed = wait_for(coordinator, f"SELECT augur.next_placement_step({plan_id}) IS NULL", "t", 1800)
        steps = coordinator.psql(f"""
            SELECT count(*) FILTER (WHERE ddl LIKE '%isolate_tenant%') || ' isolations, '
                   || count(*) FILTER (WHERE ddl LIKE '%move_shard%') || ' moves, '
                   || count(*) FILTER (WHERE outcome <> 'done') || ' failed'
              FROM augur.action_log WHERE recommendation_id = {plan_id} AND action = 'place'""")
        log(f"   applied in {applied:.1f} s; keys placed in {placed:.1f} s more ({steps})")
        distributed = run_mix(coordinator, a.warehouses, a.seconds, a.clients)
        log(f"   distributed tables: {distributed:.1f} tps ({distributed / single:.2f}x the local tables on this machine)")
        coordinator.psql("SELECT augur.flush()")
        measured = coordinator.psql(f"""
            SELECT transactions || '|' || distributed_share || '|' || predicted_share || '|' || access_balance
              FROM augur.sharding_measure({plan_id})""").split("|")
        log(f"   measured on the cluster over transactions standing for {float(measured[0]):.0f}: "
            f"{100 * float(measured[1]):.1f}% on more than one node (the plan predicted {100 * float(measured[2]):.1f}% "
            f"for the same transactions, {100 * float(predicted):.1f}% for its held-out ones); "
            f"busiest worker {float(measured[3]):.2f}x the mean")
        return 0

    def clean_up():
        for node in nodes:
            node.stop()
        shutil.rmtree(root, ignore_errors=True)

    return run_benchmark(body, clean_up)


if __name__ == "__main__":
    sys.exit(main())
