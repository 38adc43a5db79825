#!/usr/bin/env python3
"""Measure Augur's flush lag under load: time from a statement's execution to its row in augur.query.

Starts one throwaway PostgreSQL cluster with shared_preload_libraries = 'augur' and
augur.naptime = NAPTIME, runs CREATE EXTENSION augur and waits until
`SELECT state FROM augur.worker_status` says 'running'. Then:

  1. `pgbench -i -s SCALE -q`, CHECKPOINT;
  2. the load: `pgbench -S -n -M prepared -c CLIENTS -j JOBS -T D` in the background,
     unthrottled (no -R), so the server runs at the highest rate it reaches here. D is
     chosen so that the load outlasts the whole measurement:
         D = 2 s warm-up + (MARKERS - 1) * INTERVAL + 3 * NAPTIME + 2 s;
  3. after the warm-up, every INTERVAL seconds (on a fixed schedule, whether or not the
     earlier markers have shown up yet) one marker statement of a shape not seen before,
     so that it gets its own query id, is executed from its own psql session:
         SELECT bid AS flush_lag_marker FROM pgbench_branches WHERE bid IN (1, 2, ..., k)
     with k = 1, 2, 3, ... Augur keeps it as
         SELECT bid AS flush_lag_marker FROM pgbench_branches WHERE bid IN ($1, $2, ..., $k)
  4. meanwhile a second psql session polls every 50 ms, with one small query for all the
     markers still pending, whether augur.query has a row whose `query` is one of those
     texts. A marker not seen 3 * NAPTIME seconds after its execution is reported as a
     failure (TIMEOUT) and no longer polled for;
  5. once every marker is seen or given up on, waits for pgbench to end (it was sized to
     outlast step 4, so every wait was measured under load) and reads its tps
     ("without initial connection time").

Per marker, two figures are printed:

  lag     (client clock) completion of the first poll that saw the row minus completion
          of the marker statement, both as seen by this script. It overstates the true
          lag by at most one poll interval plus one poll round trip (~50-60 ms).
  server  (server clock) decayed_at - first_seen of the row: the start of the worker's
          flush transaction minus the start of the marker statement; it excludes the
          commit of the flush and the polling resolution.

The lag is expected to be spread over 0..NAPTIME (plus the flush itself), since the
markers land at arbitrary points of the worker's cycle; the median then sits near
NAPTIME / 2. The script ends with

    flush lag: median X.XX s, max Y.YY s over N markers at T tps (augur.naptime = Z s)

(N counts the markers seen; timeouts are listed above it as failure lines) and with
`SELECT entries, evictions, dropped FROM augur.capture_status`. An execution that finds
Augur's shared table busy is dropped, not waited for (see README, Capture): a marker whose
text was dropped that way never appears and shows up as a TIMEOUT, with `dropped` > 0.
Exit status: 0 when every marker was seen, 1 otherwise or on error.

The cluster is stopped, pgbench and the psql sessions ended and the temporary directory
removed on exit, error, Ctrl-C or SIGTERM.

Uses only the Python 3 standard library. Honours $PG_CONFIG. When run as root, the server
commands run as the `postgres` OS user via runuser. Clients connect over the unix socket
in the temporary directory (the server listens on a free loopback port too).

    bench/flush_lag.py [--naptime 10] [--markers 12] [--interval 3] [--clients 2]
                       [--jobs 2] [--scale 10] [--json results.json]

Examples:

    # defaults: 12 markers 3 s apart, augur.naptime = 10 s (about 70 s of pgbench)
    bench/flush_lag.py

    # quick smoke test
    bench/flush_lag.py --markers 3 --interval 2 --naptime 2

    # a shorter naptime, results also written as JSON
    bench/flush_lag.py --naptime 1 --markers 20 --interval 0.7 --json /tmp/flush_lag.json
"""

import argparse
import datetime
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgbench_cluster import (DB, TPS_RE, Cluster, free_ports, log,  # noqa: E402
                             make_temp_root, pg_bindir, require_libraries, require_runuser,
                             run_benchmark, sql_literal, wait_worker_running,
                             write_results_json)

SETTINGS = {
    "shared_buffers": "256MB",
    "max_connections": "50",
    "listen_addresses": "'127.0.0.1'",
    "shared_preload_libraries": "'augur'",
}
WARMUP = 2.0           # seconds of load before the first marker
POLL_INTERVAL = 0.05   # seconds between poll starts
TAIL = 2.0             # extra seconds of load after the last possible poll
SQL_TIMEOUT = "10s"    # statement_timeout of the two psql sessions
MARKER_ALIAS = "flush_lag_marker"


def marker_sql(k):
    """(statement, expected normalized text) of marker k: an IN list of k constants."""
    head = f"SELECT bid AS {MARKER_ALIAS} FROM pgbench_branches WHERE bid IN "
    return (head + "(" + ", ".join(str(i) for i in range(1, k + 1)) + ")",
            head + "(" + ", ".join(f"${i}" for i in range(1, k + 1)) + ")")


class Session:
    """A persistent psql connection fed over stdin; each statement's result rows are
    read back up to a sentinel line that psql echoes once the statement has finished."""

    SENTINEL = "__flush_lag_done__"

    def __init__(self, cluster, name):
        self.name = name
        self.proc = subprocess.Popen(
            [cluster.bin("psql")] + cluster.conn_args()
            + ["-d", DB, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1)
        self.query(f"SET statement_timeout = {sql_literal(SQL_TIMEOUT)}")

    def query(self, sql):
        """Run one statement (one line, no trailing semicolon); return its result lines."""
        try:
            self.proc.stdin.write(f"{sql};\n\\echo {self.SENTINEL}\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise RuntimeError(f"psql session {self.name} is gone: {e}")
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if line == "":
                raise RuntimeError(f"psql session {self.name} ended (exit "
                                   f"{self.proc.wait()}) running: {sql}\n" + "".join(lines))
            line = line.rstrip("\n")
            if line == self.SENTINEL:
                return lines
            lines.append(line)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def poll_sql(pending):
    """One query for every pending marker: which of their texts augur.query holds now,
    with the server-side lag (flush transaction start - statement start)."""
    values = ", ".join(f"({m['k']}, {sql_literal(m['expected'])})" for m in pending)
    return ("SELECT v.k, extract(epoch FROM q.decayed_at - q.first_seen) "
            f"FROM (VALUES {values}) AS v(k, t) JOIN augur.query q ON q.query = v.t")


def measure(cluster, a, load):
    """Issue the markers on schedule and poll for them; returns the marker records."""
    marker_s = Session(cluster, "marker")
    poll_s = Session(cluster, "poll")
    markers, pending = [], []
    polls, poll_time = 0, 0.0
    give_up = 3 * a.naptime
    try:
        t0 = time.monotonic()
        next_marker = t0
        next_poll = t0
        while len(markers) < a.markers or pending:
            now = time.monotonic()
            if load.poll() is not None:
                raise RuntimeError(f"pgbench ended early (exit {load.returncode}) while "
                                   f"markers were still being measured")
            if len(markers) < a.markers and now >= next_marker:
                k = len(markers) + 1
                sql, expected = marker_sql(k)
                sent = time.monotonic()
                marker_s.query(sql)
                done = time.monotonic()
                m = {"k": k, "sql": sql, "expected": expected,
                     "executed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                     "exec_round_trip_ms": (done - sent) * 1000, "_done": done,
                     "lag_s": None, "server_lag_s": None, "polls": 0, "seen": False}
                markers.append(m)
                pending.append(m)
                next_marker += a.interval
                continue
            if pending and now >= next_poll:
                next_poll = now + POLL_INTERVAL
                sent = time.monotonic()
                rows = poll_s.query(poll_sql(pending))
                done = time.monotonic()
                polls += 1
                poll_time += done - sent
                seen = {}
                for row in rows:
                    k, _, server = row.partition("|")
                    seen[int(k)] = float(server) if server else None
                for m in list(pending):
                    m["polls"] += 1
                    if m["k"] in seen:
                        m["seen"] = True
                        m["lag_s"] = done - m["_done"]
                        m["server_lag_s"] = seen[m["k"]]
                        pending.remove(m)
                        log(f"marker {m['k']:3d}: lag {m['lag_s']:6.2f} s  (server "
                            f"{m['server_lag_s']:6.2f} s, {m['polls']} polls, statement "
                            f"{m['exec_round_trip_ms']:.1f} ms)")
                    elif done - m["_done"] > give_up:
                        pending.remove(m)
                        log(f"marker {m['k']:3d}: FAILURE: not in augur.query after "
                            f"{give_up} s ({m['polls']} polls); expected query text: "
                            f"{m['expected']}")
                        found = poll_s.query(
                            "SELECT coalesce(query, '(no text)') FROM augur.query "
                            f"WHERE query LIKE '%{MARKER_ALIAS}%' OR query IS NULL")
                        log(f"             augur.query rows with the marker alias or no "
                            f"text: {len(found)}" + "".join(f"\n               {t}"
                                                             for t in found))
                continue
            wake = []
            if len(markers) < a.markers:
                wake.append(next_marker)
            if pending:
                wake.append(next_poll)
            time.sleep(max(0.0, min(wake) - time.monotonic()))
    finally:
        marker_s.close()
        poll_s.close()
    for m in markers:
        del m["_done"]
    return markers, {"polls": polls,
                     "mean_poll_ms": (poll_time / polls * 1000) if polls else None}


def parse_args():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring (head of this file) for details and examples.")
    p.add_argument("--naptime", type=int, default=10,
                   help="augur.naptime in seconds, 1..3600 (default 10)")
    p.add_argument("--markers", type=int, default=12, help="marker statements (default 12)")
    p.add_argument("--interval", type=float, default=3.0,
                   help="seconds between markers (default 3)")
    p.add_argument("--clients", type=int, default=2, help="pgbench -c (default 2)")
    p.add_argument("--jobs", type=int, default=2, help="pgbench -j (default 2)")
    p.add_argument("--scale", type=int, default=10, help="pgbench -i -s (default 10)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    a = p.parse_args()
    if not 1 <= a.naptime <= 3600:
        p.error("--naptime must be between 1 and 3600 (augur.naptime's range)")
    for name in ("markers", "clients", "jobs", "scale"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be >= 1")
    if a.interval <= 0:
        p.error("--interval must be > 0")
    return a


def main():
    a = parse_args()
    pg_config, bindir = pg_bindir()
    require_libraries(pg_config, ["augur"])
    require_runuser()

    settings = dict(SETTINGS)
    settings["augur.naptime"] = f"'{a.naptime}s'"

    tmp = make_temp_root("augur-flush-lag-")
    cluster = Cluster(tmp, free_ports(1)[0], bindir, settings)
    load = None
    load_out = os.path.join(tmp, "pgbench.out")

    def benchmark():
        nonlocal load
        log(f"temp dir {tmp}; bindir {bindir}")
        cluster.create()
        cluster.start()
        log(f"cluster port {cluster.port}  shared_preload_libraries='augur'")
        naptime = cluster.psql("SHOW augur.naptime")
        if naptime != f"{a.naptime}s":
            raise RuntimeError(f"augur.naptime is {naptime!r}, expected {a.naptime}s")
        cluster.psql("CREATE EXTENSION augur")
        state = wait_worker_running(cluster, timeout=60)
        log(f"augur {cluster.psql('SELECT augur.version()')}: worker state {state}, "
            f"augur.naptime = {naptime}")

        log(f"initialising (pgbench -i -s {a.scale} -q) ...")
        cluster.pgbench(["-i", "-s", str(a.scale), "-q"])
        cluster.psql("CHECKPOINT")

        duration = math.ceil(WARMUP + (a.markers - 1) * a.interval + 3 * a.naptime + TAIL)
        load_args = ["-S", "-n", "-M", "prepared", "-c", str(a.clients), "-j", str(a.jobs),
                     "-T", str(duration)]
        log(f"\nload: pgbench {' '.join(load_args)} (unix socket); {a.markers} markers "
            f"every {a.interval:g} s after {WARMUP:g} s, polled every "
            f"{POLL_INTERVAL * 1000:.0f} ms, given up after {3 * a.naptime} s")
        with open(load_out, "w") as out:
            load = subprocess.Popen([cluster.bin("pgbench")] + cluster.conn_args() + load_args
                                    + [DB], stdout=out, stderr=subprocess.STDOUT)
        time.sleep(WARMUP)
        markers, poll_stats = measure(cluster, a, load)

        log("waiting for pgbench to end ...")
        rc = load.wait()
        with open(load_out, errors="replace") as f:
            load_text = f.read()
        load = None
        if rc != 0:
            raise RuntimeError(f"pgbench failed ({rc}):\n{load_text}")
        m = TPS_RE.search(load_text)
        if not m:
            raise RuntimeError(f"no tps line in pgbench output:\n{load_text}")
        tps = float(m.group(1))

        cap = cluster.psql("SELECT entries, evictions, dropped FROM augur.capture_status")
        entries, evictions, dropped = (int(x) for x in cap.split("|"))
        worker = cluster.psql("SELECT state, coalesce(last_error, '') FROM augur.worker_status")
        w_state, _, w_error = worker.partition("|")
        if w_state != "running" or w_error:
            log(f"warning: augur worker state at the end is {w_state!r}"
                + (f", last error: {w_error}" if w_error else ""))

        seen = [m for m in markers if m["seen"]]
        failed = [m for m in markers if not m["seen"]]
        lags = [m["lag_s"] for m in seen]
        server_lags = [m["server_lag_s"] for m in seen if m["server_lag_s"] is not None]
        med = statistics.median(lags) if lags else None
        mx = max(lags) if lags else None

        log("\nsummary")
        log(f"pgbench -S -M prepared -c {a.clients} -j {a.jobs} -T {duration}: "
            f"tps = {tps:.2f} (without initial connection time)")
        log(f"  {'marker k':>8s}  {'lag s':>7s}  {'server s':>8s}  polls")
        for m in markers:
            if m["seen"]:
                log(f"  {m['k']:8d}  {m['lag_s']:7.2f}  "
                    f"{m['server_lag_s']:8.2f}  {m['polls']:5d}")
            else:
                log(f"  {m['k']:8d}  FAILURE: timeout after {3 * a.naptime} s "
                    f"({m['polls']} polls)")
        log(f"polls: {poll_stats['polls']}, mean round trip "
            + (f"{poll_stats['mean_poll_ms']:.1f} ms" if poll_stats["polls"] else "n/a"))
        if server_lags:
            log(f"server-side lag (flush start - statement start): median "
                f"{statistics.median(server_lags):.2f} s, max {max(server_lags):.2f} s")
        for m in failed:
            log(f"FAILURE: marker {m['k']} did not appear in augur.query within "
                f"{3 * a.naptime} s")
        log(f"augur.capture_status: entries {entries}, evictions {evictions}, "
            f"dropped {dropped}")
        if lags:
            log(f"flush lag: median {med:.2f} s, max {mx:.2f} s over {len(lags)} markers "
                f"at {tps:.0f} tps (augur.naptime = {a.naptime} s)")
        else:
            log(f"flush lag: no marker seen ({len(failed)} timeouts) at {tps:.0f} tps "
                f"(augur.naptime = {a.naptime} s)")

        if a.json:
            write_results_json(a.json, bindir, {
                "params": {"naptime": a.naptime, "markers": a.markers,
                           "interval": a.interval, "clients": a.clients, "jobs": a.jobs,
                           "scale": a.scale, "warmup_s": WARMUP,
                           "poll_interval_s": POLL_INTERVAL, "give_up_s": 3 * a.naptime,
                           "connection": "unix", "settings": settings},
                "pgbench_args": load_args,
                "tps": tps,
                "markers": markers,
                "polls": poll_stats,
                "summary": {"seen": len(seen), "failed": len(failed),
                            "median_lag_s": med, "max_lag_s": mx,
                            "median_server_lag_s": (statistics.median(server_lags)
                                                    if server_lags else None),
                            "max_server_lag_s": max(server_lags) if server_lags else None},
                "capture_status": {"entries": entries, "evictions": evictions,
                                   "dropped": dropped},
                "augur_worker_state_end": w_state,
                "augur_worker_last_error": w_error or None,
            })
        return 1 if failed else 0

    def clean_up():
        if load is not None and load.poll() is None:
            load.terminate()
            try:
                load.wait(timeout=10)
            except subprocess.TimeoutExpired:
                load.kill()
                load.wait()
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    return run_benchmark(benchmark, clean_up)


if __name__ == "__main__":
    sys.exit(main())
