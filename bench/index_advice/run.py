#!/usr/bin/env python3
"""Compare index advisors side by side on one workload: none, pg_qualstats, Augur.

Starts one throwaway PostgreSQL cluster (initdb into a temporary directory, a free
loopback port, the unix socket in that directory) with

    shared_preload_libraries = 'pg_stat_statements,pg_qualstats,augur'
    pg_qualstats.sample_rate = 1, augur.naptime = 3600 (set by ALTER SYSTEM once the
    worker runs; this script calls augur.flush() itself),
    compute_query_id = on, autovacuum = off, jit = off, timezone = 'UTC'

and CREATE EXTENSION pg_stat_statements, pg_qualstats, hypopg, augur, pg_trgm. Then:

  1. schema and data (workload.py): customers, products, orders, order_items, events at
     --scale (1.0: 100k customers, 20k products, 1M orders, ~3M order items, 4M events),
     skewed, primary and foreign keys only; VACUUM ANALYZE; the set of indexes now present
     is the baseline (only primary keys on the workload's tables);
  2. training: --clients psql sessions send the workload for --seconds: statements with
     literal constants, shapes drawn by weight from workload.SHAPES (27 shapes; each
     shape's instances normalise to one query id in pg_stat_statements and Augur); the
     script counts each shape's calls;
  3. VACUUM ANALYZE, then the advisors are asked, each timed (psql \\timing, the one SQL
     call that returns the advice):
       pg_qualstats  SELECT v FROM json_array_elements(pg_qualstats_index_advisor(
                         min_filter => N)->'indexes') v
                     (N: --qualstats-min-filter; the function's other parameters at their
                     defaults, min_selectivity 30, forbidden_am '{}')
       augur         SELECT augur.flush() first (not timed as advice), then
                     SELECT ... FROM augur.recommend_indexes() r WHERE r.kind = 'create_index'
     Zero proposals (or an error) is recorded and reported as 0 indexes;
  4. measurement, --rounds rounds, the advisors' order rotating from round to round; for
     each advisor in a round: drop every index not in the baseline, run its DDL for real
     (CONCURRENTLY removed; failures recorded), ANALYZE the tables that got an expression
     or partial index (the only indexes ANALYZE adds statistics for; re-sampling the other
     tables would only add noise to the planner's estimates), then
       - index storage: sum of pg_relation_size of the indexes built,
       - weighted planner cost: per shape, EXPLAIN (VERBOSE, FORMAT JSON) of one
         representative instance (constants drawn once from --seed, the same for every
         advisor), Total Cost times the shape's calls in the training run, summed,
       - measured time: a fixed sample of --replay statements (drawn once from --seed, the
         same for every advisor; every shape at least twice, otherwise in proportion to
         its weight), run in one session; each write in its own transaction that is
         rolled back, so the data stays the same; the sum of the statements' wall times.
     Before the first round the sample is replayed once without indexes, unmeasured, to
     warm the caches. The summary reports the medians over rounds.

Prints the advice, a per-shape table and one summary line per advisor:

    advisor  #indexes  index storage  weighted planner cost (vs none)  exec ms (vs none)
             advisor runtime

and writes everything (settings, per-shape calls with pg_stat_statements' and Augur's
counts for the shape's query id, advice, builds, per-round figures) to --json.

The cluster is stopped and the temporary directory removed on exit, error, Ctrl-C or
SIGTERM. Uses only the Python 3 standard library (and bench/pgbench_cluster.py). Honours
$PG_CONFIG. When run as root, the server commands run as the `postgres` OS user via
runuser.

    bench/index_advice/run.py [--scale 1] [--seconds 60] [--clients 2] [--rounds 3]
                              [--replay 300] [--seed 42] [--advisors pg_qualstats,augur]
                              [--qualstats-min-filter N] [--extra-conf KEY=VALUE ...]
                              [--json results.json]

Examples:

    bench/index_advice/run.py --json /tmp/index_advice.json      # default scale, ~4 min
    bench/index_advice/run.py --scale 0.05 --seconds 20          # quick check, ~40 s
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from pgbench_cluster import (DB, Cluster, conf_value, free_ports, log, parse_extra_conf,  # noqa: E402
                             make_temp_root, pg_bindir, require_libraries, require_runuser,
                             run, run_benchmark, sql_literal, wait_worker_running,
                             write_results_json)
import importlib  # noqa: E402

WORKLOADS = {"shop": "workload", "tpch": "tpch_like", "tpch1000": "tpch_many"}
workload = None     # the module --workload names (workload.py or tpch_like.py)

PRELOAD = "pg_stat_statements,pg_qualstats,augur"
EXTENSIONS = ["pg_stat_statements", "pg_qualstats", "hypopg", "augur", "pg_trgm"]
SETTINGS = {
    "shared_buffers": "256MB",
    "max_connections": "50",
    "listen_addresses": "'127.0.0.1'",
    "maintenance_work_mem": "256MB",
    "compute_query_id": "on",
    "pg_qualstats.sample_rate": "1",
    "augur.naptime": "1",    # until the worker runs; then NAPTIME (see main)
    "autovacuum": "off",     # statistics change only when this script says so
    "jit": "off",            # no compile time in the measured executions
    "timezone": "'UTC'",
}
RESERVED_SETTINGS = {"shared_preload_libraries", "port", "unix_socket_directories"}
ADVISORS = ["pg_qualstats", "augur"]
BASELINE = "none"
NAPTIME = "10"   # augur.naptime once the worker runs: its default, so training spans several flush windows
TIME_RE = re.compile(r"^Time: ([0-9.]+) ms", re.M)


# ---------------------------------------------------------------------------------------
# psql helpers

class Session:
    """A persistent psql connection fed over stdin. Result rows go to /dev/null; after each
    statement psql echoes a sentinel with the statement's SQLSTATE, error text before it."""

    SENTINEL = "__index_advice_done__"

    def __init__(self, cluster, name):
        self.name = name
        self.proc = subprocess.Popen(
            [cluster.bin("psql")] + cluster.conn_args()
            + ["-d", DB, "-X", "-q", "-A", "-t", "-o", "/dev/null", "-v", "ON_ERROR_STOP=0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1)

    def execute(self, sql):
        """Run one statement (one line, no semicolon): (sqlstate, error text, seconds)."""
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write(f"{sql};\n\\echo {self.SENTINEL} :SQLSTATE\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise RuntimeError(f"psql session {self.name} is gone: {e}")
        msgs = []
        while True:
            line = self.proc.stdout.readline()
            if line == "":
                raise RuntimeError(f"psql session {self.name} ended (exit "
                                   f"{self.proc.wait()}) running: {sql}\n" + "".join(msgs))
            if line.startswith(self.SENTINEL):
                elapsed = time.perf_counter() - t0
                state = line[len(self.SENTINEL):].strip()
                return state, "".join(msgs).strip(), elapsed
            msgs.append(line)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def psql_timed(cluster, sql):
    """Run sql with \\timing on: (output rows, round trip in ms as psql measured, the
    server's messages (NOTICEs) as text)."""
    proc = run([cluster.bin("psql")] + cluster.conn_args()
               + ["-d", DB, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                  "-c", "\\timing on", "-c", sql])
    m = TIME_RE.findall(proc.stdout)
    if not m:
        raise RuntimeError(f"no timing in psql output:\n{proc.stdout}{proc.stderr}")
    rows = [ln for ln in proc.stdout.splitlines()
            if ln and not TIME_RE.match(ln) and ln != "Timing is on."]
    return rows, float(m[-1]), proc.stderr.strip()


def psql_try(cluster, sql):
    """Run sql; (True, stdout) or (False, error text)."""
    proc = run([cluster.bin("psql")] + cluster.conn_args()
               + ["-d", DB, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
               check=False)
    if proc.returncode != 0:
        return False, (proc.stderr or proc.stdout).strip()
    return True, proc.stdout.strip()


# ---------------------------------------------------------------------------------------
# workload

def training(cluster, a, dims, sessions):
    """Run the workload with a.clients sessions for a.seconds; per-shape counters."""
    names = [s.name for s in workload.SHAPES]
    weights = [s.weight for s in workload.SHAPES]
    stats = [{n: {"calls": 0, "errors": 0, "seconds": 0.0} for n in names}
             for _ in range(a.clients)]
    first_errors = []
    failures = []
    deadline = time.monotonic() + a.seconds

    def client(i):
        rng = random.Random(a.seed * 1000 + i)
        sess = sessions[i]
        try:
            while time.monotonic() < deadline:
                shape = rng.choices(workload.SHAPES, weights)[0]
                state, err, secs = sess.execute(shape.sql(rng, dims))
                st = stats[i][shape.name]
                if state == "00000":
                    st["calls"] += 1
                    st["seconds"] += secs
                else:
                    st["errors"] += 1
                    if len(first_errors) < 5:
                        first_errors.append(f"{shape.name}: {state} {err}")
        except Exception as e:  # reported by the main thread
            failures.append(f"client {i}: {e}")

    threads = [threading.Thread(target=client, args=(i,), daemon=True)
               for i in range(a.clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(timeout=10)
            if t.is_alive():
                break
        done = sum(st[n]["calls"] for st in stats for n in names)
        log(f"  training: {time.monotonic() - t0:5.1f}s, {done} statements")
    if failures:
        raise RuntimeError("training failed: " + "; ".join(failures))
    total = {n: {k: sum(st[n][k] for st in stats) for k in ("calls", "errors", "seconds")}
             for n in names}
    return total, first_errors, time.monotonic() - t0


def replay_sample(a, dims):
    """The fixed replay sample: [(shape, sql)], every shape at least twice."""
    rng = random.Random(a.seed * 1000 + 999)
    wsum = sum(s.weight for s in workload.SHAPES)
    items = []
    for s in workload.SHAPES:
        n = max(2, round(a.replay * s.weight / wsum))
        items += [(s, s.sql(rng, dims)) for _ in range(n)]
    rng.shuffle(items)
    return items


def replay(cluster, sample):
    """Run the sample in one session, writes rolled back; per-shape ms, errors."""
    sess = Session(cluster, "replay")
    per_shape = {}
    errors = []
    try:
        for shape, sql in sample:
            if shape.writes:
                sess.execute("BEGIN")
            state, err, secs = sess.execute(sql)
            if shape.writes:
                sess.execute("ROLLBACK")
            if state != "00000":
                errors.append(f"{shape.name}: {state} {err}")
            per_shape[shape.name] = per_shape.get(shape.name, 0.0) + secs * 1000
    finally:
        sess.close()
    return per_shape, errors


def planner_costs(cluster, representatives):
    """Per shape: (Total Cost, query id) of EXPLAIN (VERBOSE, FORMAT JSON)."""
    out = {}
    for name, sql in representatives.items():
        doc = json.loads(cluster.psql("EXPLAIN (VERBOSE, FORMAT JSON) " + sql))[0]
        out[name] = {"cost": doc["Plan"]["Total Cost"],
                     "queryid": doc.get("Query Identifier"),
                     "plan": plan_summary(doc["Plan"])}
    return out


def plan_summary(plan):
    """Scan nodes of a plan, e.g. 'Index Scan orders_customer_id_idx, Seq Scan events'."""
    found = []

    def walk(p):
        nt = p.get("Node Type", "")
        if "Scan" in nt:
            what = p.get("Index Name") or p.get("Relation Name") or ""
            found.append(f"{nt} {what}".strip())
        for c in p.get("Plans", []):
            walk(c)
    walk(plan)
    return ", ".join(found)


# ---------------------------------------------------------------------------------------
# indexes

def index_oids(cluster):
    return set(cluster.psql("SELECT indexrelid::bigint FROM pg_index").split())


def extra_indexes(cluster, baseline):
    """Indexes not in the baseline: [{name, table, size, def, expr_or_partial}]."""
    rows = cluster.psql(
        "SELECT coalesce(json_agg(json_build_object("
        "'oid', i.indexrelid::bigint, 'name', i.indexrelid::regclass::text, "
        "'table', i.indrelid::regclass::text, 'size', pg_relation_size(i.indexrelid), "
        "'def', pg_get_indexdef(i.indexrelid), "
        "'expr_or_partial', i.indexprs IS NOT NULL OR i.indpred IS NOT NULL) "
        "ORDER BY i.indexrelid), '[]') FROM pg_index i")
    return [r for r in json.loads(rows) if str(r["oid"]) not in baseline]


def drop_extra_indexes(cluster, baseline):
    for ix in extra_indexes(cluster, baseline):
        cluster.psql(f"DROP INDEX {ix['name']}")


CONCURRENTLY_RE = re.compile(r"\bCONCURRENTLY\s+", re.I)


def build(cluster, baseline, ddls):
    """Drop the non-baseline indexes, run ddls; per DDL result, indexes present."""
    drop_extra_indexes(cluster, baseline)
    results = []
    for ddl in ddls:
        plain = CONCURRENTLY_RE.sub("", ddl)
        t0 = time.monotonic()
        ok, out = psql_try(cluster, plain)
        results.append({"ddl": ddl, "executed": plain, "ok": ok,
                        "seconds": round(time.monotonic() - t0, 3),
                        "error": None if ok else out})
    built = extra_indexes(cluster, baseline)
    for table in sorted({ix["table"] for ix in built if ix["expr_or_partial"]}):
        cluster.psql(f"ANALYZE {table}")
    return results, built


# ---------------------------------------------------------------------------------------
# advisors

def ask_qualstats(cluster, a):
    sql = ("SELECT v #>> '{}' FROM json_array_elements(pg_qualstats_index_advisor("
           f"min_filter => {a.qualstats_min_filter})->'indexes') v")
    rows, ms, msgs = psql_timed(cluster, sql)
    unopt = json.loads(cluster.psql(
        "SELECT coalesce(pg_qualstats_index_advisor("
        f"min_filter => {a.qualstats_min_filter})->'unoptimised', '[]')"))
    return {"sql": sql, "ddl": rows, "runtime_ms": ms, "unoptimised": unopt,
            "messages": msgs}


def ask_augur(cluster, a):
    t0 = time.monotonic()
    flushed = cluster.psql("SELECT augur.flush()")
    flush_s = time.monotonic() - t0
    budget = "" if a.augur_budget_used is None else f"budget => {sql_literal(a.augur_budget_used)}"
    sql = (f"SELECT coalesce(json_agg(to_jsonb(r)), '[]') FROM augur.recommend_indexes({budget}) r "
           "WHERE r.kind = 'create_index'")
    rows, ms, msgs = psql_timed(cluster, sql)
    recs = json.loads(rows[-1]) if rows else []
    # Schema advice on the same workload, timed and reported, not built (its changes
    # are not indexes; the comparison with pg_qualstats is about indexes).
    schema_rows, schema_ms, _ = psql_timed(
        cluster, "SELECT coalesce(json_agg(json_build_object('kind', r.kind, 'target', r.target, 'reason', r.reason)), '[]') "
                 f"FROM augur.recommend_schema(large_table => {sql_literal(a.schema_large_table)}) r")
    return {"sql": sql, "ddl": [r["ddl"] for r in recs], "runtime_ms": ms,
            "recommendations": recs, "messages": msgs, "flush_rows": int(flushed),
            "flush_seconds": round(flush_s, 3),
            "schema": {"runtime_ms": schema_ms,
                       "recommendations": json.loads(schema_rows[-1]) if schema_rows else []}}


ASK = {"pg_qualstats": ask_qualstats, "augur": ask_augur}


# ---------------------------------------------------------------------------------------

def fmt_bytes(n):
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def change(base, x):
    """Signed change of x against base in percent (negative: less than base)."""
    return (x - base) / base * 100 if base else 0.0


def round_order(names, r):
    k = r % len(names)
    return names[k:] + names[:k]


def parse_args():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring (head of this file) and README.md for details.")
    p.add_argument("--workload", choices=sorted(WORKLOADS), default="shop",
                   help="shop: workload.py, 27 shapes over five tables (default); tpch: tpch_like.py, "
                        "21 shapes after TPC-H's queries over its eight tables (many-way joins); tpch1000: "
                        "tpch_many.py, those and 979 generated ones, 1,000 shapes")
    p.add_argument("--scale", type=float, default=1.0,
                   help="data size: 1.0 = 100k customers, 1M orders, 4M events (default 1)")
    p.add_argument("--seconds", type=int, default=60,
                   help="length of the training run (default 60)")
    p.add_argument("--clients", type=int, default=2,
                   help="concurrent sessions in the training run (default 2)")
    p.add_argument("--rounds", type=int, default=3,
                   help="measurement rounds, advisors interleaved (default 3)")
    p.add_argument("--replay", type=int, default=300,
                   help="statements in the replayed sample (default 300)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--advisors", default=",".join(ADVISORS),
                   help=f"comma list from {', '.join(ADVISORS)}; '{BASELINE}' (no advice) "
                        f"is always the baseline (default all)")
    p.add_argument("--qualstats-min-filter", type=int, default=None, metavar="N",
                   help="min_filter passed to pg_qualstats_index_advisor (default: its own "
                        "default 1000 at --scale >= 1, 50 below)")
    p.add_argument("--augur-budget", default="match", metavar="BUDGET",
                   help="Augur's index budget: 'match' (default) gives it the storage "
                        "pg_qualstats' indexes take when built, so that the comparison is at "
                        "equal storage; 'server' leaves augur.index_budget; anything else "
                        "('500MB', '10%%') is passed as recommend_indexes(budget => ...)")
    p.add_argument("--schema-large-table", default="100MB", metavar="SIZE",
                   help="large_table for augur.recommend_schema(), timed after the index advice (default 100MB)")
    p.add_argument("--extra-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="postgresql.conf setting (repeatable)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    a = p.parse_args()
    if a.scale <= 0:
        p.error("--scale must be > 0")
    for name in ("seconds", "clients", "rounds", "replay"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be >= 1")
    adv = [x.strip() for x in a.advisors.split(",") if x.strip()]
    bad = [x for x in adv if x not in ADVISORS]
    if bad or len(set(adv)) != len(adv):
        p.error(f"--advisors: choose distinct names from {', '.join(ADVISORS)}")
    a.advisors = adv
    if a.qualstats_min_filter is None:
        a.qualstats_min_filter = 1000 if a.scale >= 1 else 50
    a.extra = {k: conf_value(v) for k, v in parse_extra_conf(p, a.extra_conf, RESERVED_SETTINGS).items()}
    return a


def main():
    global workload
    a = parse_args()
    workload = importlib.import_module(WORKLOADS[a.workload])
    pg_config, bindir = pg_bindir()
    require_libraries(pg_config, PRELOAD.split(","))
    require_runuser()
    settings = {**SETTINGS, **a.extra}
    tmp = make_temp_root("augur-index-advice-")
    cluster = Cluster(tmp, free_ports(1)[0], bindir, settings, preload=PRELOAD,
                      extensions=EXTENSIONS)
    sessions = []
    state = {"phase": "setup"}
    names = [BASELINE] + a.advisors
    shapes = workload.SHAPES

    def benchmark():
        t_start = time.monotonic()
        log(f"temp dir {tmp}; bindir {bindir}")
        cluster.create()
        cluster.start()
        log(f"cluster port {cluster.port}  shared_preload_libraries='{PRELOAD}'")
        for ext in EXTENSIONS:
            cluster.psql(f"CREATE EXTENSION {ext}")
        # The worker only notices CREATE EXTENSION augur after a nap: start with a short
        # one, then make it long so that only this script's augur.flush() calls flush.
        wait_worker_running(cluster, timeout=60)
        cluster.psql(f"ALTER SYSTEM SET augur.naptime = {sql_literal(NAPTIME)}")
        cluster.psql("SELECT pg_reload_conf()")
        time.sleep(1)
        settings["augur.naptime"] = cluster.psql("SHOW augur.naptime")
        versions = json.loads(cluster.psql(
            "SELECT json_object_agg(extname, extversion) FROM pg_extension"))
        log(f"server {cluster.psql('SHOW server_version')}; augur "
            f"{cluster.psql('SELECT augur.version()')}; extensions "
            + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))

        # 1. schema and data
        state["phase"] = "loading data"
        dims = workload.dims(a.scale)
        log(f"\n== data at scale {a.scale}: " + ", ".join(
            f"{t} {dims[t]:,}" for t in workload.TABLES))
        t0 = time.monotonic()
        cluster.psql(workload.schema_sql())
        for table, sql in workload.load_sql(dims):
            t1 = time.monotonic()
            cluster.psql(sql)
            log(f"  {table:12s} {time.monotonic() - t1:6.1f}s")
        cluster.psql("VACUUM ANALYZE")
        cluster.psql("CHECKPOINT")
        load_s = time.monotonic() - t0
        sizes = json.loads(cluster.psql(
            "SELECT json_object_agg(relname, pg_table_size(oid)) FROM pg_class "
            "WHERE relname IN (" + ", ".join(sql_literal(t) for t in workload.TABLES) + ")"))
        log(f"  loaded in {load_s:.1f}s; heap sizes: " + ", ".join(
            f"{t} {fmt_bytes(sizes[t])}" for t in workload.TABLES))
        baseline = index_oids(cluster)
        assert not extra_indexes(cluster, baseline)
        cluster.psql("SELECT pg_stat_statements_reset()")
        cluster.psql("SELECT pg_qualstats_reset()")
        cluster.psql("SELECT augur.reset()")     # the load is not the workload, for any advisor

        # 2. training
        state["phase"] = "training"
        log(f"\n== training: {a.clients} client(s) x {a.seconds}s, {len(shapes)} query shapes")
        for i in range(a.clients):
            sessions.append(Session(cluster, f"client{i}"))
        calls, first_errors, train_s = training(cluster, a, dims, sessions)
        for s in sessions:
            s.close()
        sessions.clear()
        n_calls = sum(c["calls"] for c in calls.values())
        n_err = sum(c["errors"] for c in calls.values())
        log(f"  {n_calls} statements in {train_s:.1f}s, {n_err} errors")
        for e in first_errors:
            log(f"  error: {e}")
        pgss = dict(tuple(map(int, ln.split("|"))) for ln in cluster.psql(
            "SELECT queryid, calls FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND queryid IS NOT NULL").splitlines() if ln)

        # 3. advice
        state["phase"] = "asking the advisors"
        cluster.psql("VACUUM ANALYZE")
        log("\n== advice")
        advice = {BASELINE: {"ddl": [], "runtime_ms": 0.0}}
        a.augur_budget_used = None if a.augur_budget in ("match", "server") else a.augur_budget
        for name in a.advisors:
            if name == "augur" and a.augur_budget == "match" and "pg_qualstats" in advice:
                # Equal storage: what pg_qualstats' indexes take, built for real.
                _, built = build(cluster, baseline, advice["pg_qualstats"]["ddl"])
                a.augur_budget_used = str(sum(ix["size"] for ix in built))
                drop_extra_indexes(cluster, baseline)
                log(f"augur budget: {fmt_bytes(int(a.augur_budget_used))}, what pg_qualstats' indexes take")
            try:
                advice[name] = ASK[name](cluster, a)
            except (RuntimeError, ValueError, KeyError, TypeError) as e:
                # e.g. the function is missing or returns something unexpected: no advice
                advice[name] = {"ddl": [], "runtime_ms": None, "error": str(e).strip()}
            adv = advice[name]
            if adv.get("error"):
                log(f"{name}: error, counted as 0 indexes: {adv['error']}")
            else:
                log(f"{name}: {len(adv['ddl'])} indexes in {adv['runtime_ms']:.1f} ms"
                    + (f"  ({adv['sql']})" if name == "pg_qualstats" else "")
                    + (f"  (after SELECT augur.flush(): {adv['flush_rows']} rows in "
                       f"{adv['flush_seconds']:.2f}s)" if name == "augur" else ""))
            for d in adv["ddl"]:
                log(f"  {d}")
            if adv.get("messages"):
                log("  server said: " + adv["messages"].replace("\n", "\n    "))
            if name == "pg_qualstats" and adv.get("unoptimised"):
                log(f"  unoptimised: {', '.join(adv['unoptimised'])}")
        augur_calls = {}
        if "augur" in a.advisors:
            augur_calls = dict(tuple(map(int, ln.split("|"))) for ln in cluster.psql(
                "SELECT queryid, sum(calls) FROM augur.queries WHERE queryid IS NOT NULL "
                "AND toplevel AND database = current_database() GROUP BY queryid").splitlines() if ln)

        # 4. measurement
        state["phase"] = "measuring"
        rng = random.Random(a.seed * 1000 + 500)
        reps = {s.name: s.sql(rng, dims) for s in shapes}
        sample = replay_sample(a, dims)
        log(f"\n== measurement: {a.rounds} round(s); replay sample of {len(sample)} "
            f"statements ({sum(1 for s, _ in sample if s.writes)} writes, rolled back)")
        # Warm-up, not measured: the first replay otherwise reads colder caches.
        warm_ms = sum(replay(cluster, sample)[0].values())
        log(f"warm-up replay (no advice, not measured): {warm_ms:,.0f} ms")
        res = {n: {"rounds": [], "builds": None, "indexes": None, "costs": None,
                   "replay_errors": []} for n in names}
        for r in range(a.rounds):
            for name in round_order(names, r):
                t0 = time.monotonic()
                builds, built = build(cluster, baseline, advice[name]["ddl"])
                build_s = time.monotonic() - t0
                costs = planner_costs(cluster, reps)
                weighted = sum(costs[s.name]["cost"] * calls[s.name]["calls"] for s in shapes)
                per_shape, errs = replay(cluster, sample)
                total_ms = sum(per_shape.values())
                rr = res[name]
                if rr["builds"] is None:
                    rr["builds"], rr["indexes"], rr["costs"] = builds, built, costs
                    rr["replay_errors"] = errs
                rr["rounds"].append({"round": r + 1, "build_seconds": round(build_s, 3),
                                     "index_bytes": sum(ix["size"] for ix in built),
                                     "weighted_cost": weighted, "exec_ms": total_ms,
                                     "exec_ms_per_shape": per_shape})
                failed = sum(1 for b in builds if not b["ok"])
                log(f"round {r + 1}/{a.rounds}  {name:12s}  {len(built)} indexes"
                    + (f" ({failed} DDL failed)" if failed else "")
                    + f" built in {build_s:.1f}s, weighted cost {weighted:,.0f}, "
                    f"replay {total_ms:,.0f} ms" + (f", {len(errs)} errors" if errs else ""))
        drop_extra_indexes(cluster, baseline)

        # summary
        summ = {}
        for name in names:
            rr = res[name]
            summ[name] = {
                "indexes": len(rr["indexes"]),
                "proposed": len(advice[name]["ddl"]),
                "failed_ddl": [b for b in rr["builds"] if not b["ok"]],
                "index_bytes": sum(ix["size"] for ix in rr["indexes"]),
                "weighted_cost": statistics.median(x["weighted_cost"] for x in rr["rounds"]),
                "exec_ms": statistics.median(x["exec_ms"] for x in rr["rounds"]),
                "exec_ms_rounds": [x["exec_ms"] for x in rr["rounds"]],
                "advisor_runtime_ms": advice[name].get("runtime_ms"),
                "advisor_error": advice[name].get("error"),
            }
        base = summ[BASELINE]
        for s in summ.values():
            s["cost_change_percent"] = change(base["weighted_cost"], s["weighted_cost"])
            s["exec_change_percent"] = change(base["exec_ms"], s["exec_ms"])

        log("\nindexes built (first round)")
        for name in a.advisors:
            dups = len(advice[name]["ddl"]) - len(set(advice[name]["ddl"]))
            log(f"  {name}: {len(res[name]['indexes'])} indexes, "
                f"{fmt_bytes(summ[name]['index_bytes'])}"
                + (f" ({dups} DDL proposed more than once, built as given)" if dups else ""))
            for ix in res[name]["indexes"]:
                log(f"    {fmt_bytes(ix['size']):>9s}  {ix['def']}")
        for name in names:
            for b in summ[name]["failed_ddl"]:
                log(f"warning: {name}: DDL failed: {b['executed']}: {b['error']}")
            for e in res[name]["replay_errors"][:5]:
                log(f"warning: {name}: replay error: {e}")

        log("\nper shape: calls in training; planner cost of the representative instance "
            "(the scans it uses); replay ms (median over rounds)")
        hdr = f"  {'shape':28s} {'calls':>6s}"
        for name in names:
            hdr += f" {name + ' cost':>18s} {'ms':>8s}"
        log(hdr)
        per_shape_json = {}
        for s in shapes:
            line = f"  {s.name:28s} {calls[s.name]['calls']:6d}"
            qid = res[BASELINE]["costs"][s.name]["queryid"]
            entry = {"calls": calls[s.name]["calls"], "errors": calls[s.name]["errors"],
                     "train_seconds": round(calls[s.name]["seconds"], 3),
                     "queryid": qid, "pg_stat_statements_calls": pgss.get(qid),
                     "augur_calls": augur_calls.get(qid) if augur_calls else None,
                     "representative": reps[s.name],
                     "replay_statements": sum(1 for x, _ in sample if x.name == s.name)}
            for name in names:
                c = res[name]["costs"][s.name]
                ms = statistics.median(x["exec_ms_per_shape"].get(s.name, 0.0)
                                       for x in res[name]["rounds"])
                line += f" {c['cost']:18,.1f} {ms:8.1f}"
                entry[name] = {"cost": c["cost"], "plan": c["plan"], "replay_ms": ms}
            per_shape_json[s.name] = entry
            log(line)

        log(f"\nsummary (scale {a.scale}, training {a.seconds}s x {a.clients} clients = "
            f"{n_calls} statements; replay {len(sample)} statements x {a.rounds} rounds, "
            f"medians)")
        log(f"  {'advisor':12s} {'#indexes':>8s} {'index storage':>13s} "
            f"{'weighted planner cost':>22s} {'vs none':>8s} {'exec ms':>9s} {'vs none':>8s} "
            f"{'advisor runtime':>15s}")
        for name in names:
            s = summ[name]
            rt = s["advisor_runtime_ms"]
            rt_s = "-" if name == BASELINE else ("error" if rt is None else f"{rt:.1f} ms")
            nidx = f"{s['indexes']}" + (f"/{s['proposed']}" if s["proposed"] != s["indexes"]
                                        else "")
            vs_cost = "-" if name == BASELINE else f"{s['cost_change_percent']:+.1f}%"
            vs_exec = "-" if name == BASELINE else f"{s['exec_change_percent']:+.1f}%"
            log(f"  {name:12s} {nidx:>8s} {fmt_bytes(s['index_bytes']):>13s} "
                f"{s['weighted_cost']:22,.0f} {vs_cost:>8s} "
                f"{s['exec_ms']:9,.0f} {vs_exec:>8s} {rt_s:>15s}")
        log("")
        for name in a.advisors:
            s = summ[name]
            log(f"{name}: {s['indexes']} indexes, {fmt_bytes(s['index_bytes'])}; vs none: "
                f"planner cost {s['cost_change_percent']:+.1f}%, exec time "
                f"{s['exec_change_percent']:+.1f}% (rounds "
                + ", ".join(f"{x:,.0f}" for x in s["exec_ms_rounds"]) + " ms); advice in "
                + ("error" if s["advisor_runtime_ms"] is None
                   else f"{s['advisor_runtime_ms']:.1f} ms"))
        if "augur" in advice and "schema" in advice["augur"]:
            schema = advice["augur"]["schema"]
            log(f"augur schema advice (large_table {a.schema_large_table}, shadow-simulated, not built): "
                f"{len(schema['recommendations'])} changes in "
                + ("error" if schema["runtime_ms"] is None else f"{schema['runtime_ms'] / 1000:.1f} s"))
            for r in schema["recommendations"]:
                log(f"    {r['kind']:18s} {r['target']}: {r['reason']}")
        total_s = time.monotonic() - t_start
        log(f"total run time {total_s:.0f}s")

        if a.json:
            write_results_json(a.json, bindir, {
                "params": {"scale": a.scale, "seconds": a.seconds, "clients": a.clients,
                           "rounds": a.rounds, "replay": a.replay, "seed": a.seed,
                           "advisors": names, "qualstats_min_filter": a.qualstats_min_filter,
                           "shared_preload_libraries": PRELOAD, "settings": settings,
                           "extensions": versions},
                "data": {"rows": dims, "heap_bytes": sizes, "load_seconds": round(load_s, 1)},
                "training": {"statements": n_calls, "errors": n_err,
                             "seconds": round(train_s, 1), "first_errors": first_errors},
                "advice": advice,
                "shapes": per_shape_json,
                "advisors": {name: {**summ[name], "builds": res[name]["builds"],
                                    "built_indexes": res[name]["indexes"],
                                    "rounds": res[name]["rounds"],
                                    "replay_errors": res[name]["replay_errors"]}
                             for name in names},
                "warmup_replay_ms": warm_ms,
                "total_seconds": round(total_s, 1),
            })
        return 0

    def clean_up():
        for s in sessions:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    return run_benchmark(benchmark, clean_up, progress=lambda: f" while {state['phase']}")


if __name__ == "__main__":
    sys.exit(main())
