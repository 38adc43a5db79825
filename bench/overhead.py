#!/usr/bin/env python3
"""Compare pgbench throughput of PostgreSQL with and without Augur and pg_stat_statements.

Starts one throwaway PostgreSQL cluster per configuration, all at once and otherwise
identically configured; only shared_preload_libraries and the extensions created differ:

    vanilla  nothing preloaded
    pgss     shared_preload_libraries = 'pg_stat_statements', CREATE EXTENSION pg_stat_statements
    augur    shared_preload_libraries = 'augur', CREATE EXTENSION augur, and the Augur
             worker confirmed running (SELECT state FROM augur.worker_status)
    both     shared_preload_libraries = 'pg_stat_statements,augur', both extensions created
    augur-nohist  as augur, with augur.histogram_bytes = 0 (latency histograms off)
    augur-nosample  as augur, with augur.sample_rate = 0 (no transaction sampling)

Each cluster is initialised with `pgbench -i -s SCALE -q` followed by a CHECKPOINT. Then,
for each workload in turn, R rounds are run; a round runs pgbench once against every
cluster, one cluster at a time (the others stay up, idle), and the order rotates from
round to round (round r starts at configuration r mod n), so no configuration always goes
first. Workloads (both with -M prepared, -c CLIENTS, -j JOBS, -T SECONDS):

    select-only  pgbench -S -n       (built-in select-only script, no vacuum)
    tpcb         pgbench             (built-in TPC-B-like script; pgbench vacuums the small
                                      tables and truncates pgbench_history before each run)

The first configuration is the baseline. For every workload the script prints each run's
tps (the "without initial connection time" figure), and per configuration the median tps,
the median over rounds of the within-round ratio tps(config)/tps(baseline), the min..max
of those ratios, and overhead = (1 - median ratio) * 100. It ends with one line per
workload and configuration:

    <workload> <config>: overhead X.XX% vs <baseline> (median of R rounds,
                         ratio spread A..B, median tps T)

All clusters are stopped and the temporary directory removed on exit, error, Ctrl-C or
SIGTERM.

Uses only the Python 3 standard library. Honours $PG_CONFIG. When run as root, the server
commands run as the `postgres` OS user via runuser. Connects over the unix socket unless
--tcp is given (then 127.0.0.1 on a free loopback port per cluster).

    bench/overhead.py [--configs vanilla,pgss,augur,both] [--workloads select-only,tpcb]
                      [--rounds 5] [--seconds 15] [--clients 2] [--jobs 2] [--scale 10]
                      [--extra-conf KEY=VALUE ...] [--tcp] [--json results.json]

Examples:

    # everything side by side, defaults (4 configs x 2 workloads x 5 rounds x 15 s)
    bench/overhead.py

    # Augur loaded but idle vs no Augur (the former bench/idle_overhead.py measurement)
    bench/overhead.py --configs vanilla,augur --workloads select-only --rounds 9

    # Augur against pg_stat_statements as the baseline, with every transaction sampled
    bench/overhead.py --configs pgss,augur --extra-conf augur.sample_rate=1.0

    # the cost of latency histograms: capture without them is the baseline
    bench/overhead.py --configs augur-nohist,augur --workloads select-only --rounds 7

    # quick smoke test, results also written as JSON
    bench/overhead.py --rounds 2 --seconds 2 --json /tmp/overhead.json
"""

import argparse
import os
import re
import shutil
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgbench_cluster import (TPS_RE, Cluster, conf_value, free_ports, parse_extra_conf,  # noqa: E402
                             log, make_temp_root, pg_bindir, require_libraries,
                             require_runuser, run_benchmark, sql_literal,
                             wait_worker_running, write_results_json)

# Identical on every cluster; only shared_preload_libraries (and the extensions created)
# differ. --extra-conf adds to / overrides these, again on every cluster.
COMMON_SETTINGS = {
    "shared_buffers": "256MB",
    "max_connections": "50",
    "listen_addresses": "'127.0.0.1'",
}
# Set per cluster by the script; --extra-conf may not touch them.
RESERVED_SETTINGS = {"shared_preload_libraries", "port", "unix_socket_directories"}

# name -> (shared_preload_libraries, extensions to create in order, settings of its own)
CONFIGS = {
    "vanilla": ("", [], {}),
    "pgss": ("pg_stat_statements", ["pg_stat_statements"], {}),
    "augur": ("augur", ["augur"], {}),
    "augur-nohist": ("augur", ["augur"], {"augur.histogram_bytes": "0"}),
    "augur-nosample": ("augur", ["augur"], {"augur.sample_rate": "0"}),
    "both": ("pg_stat_statements,augur", ["pg_stat_statements", "augur"], {}),
}
DEFAULT_CONFIGS = "vanilla,pgss,augur,both"

# name -> pgbench arguments selecting the script
WORKLOADS = {
    "select-only": ["-S", "-n"],
    "tpcb": [],
}
DEFAULT_WORKLOADS = "select-only,tpcb"


def split_libs(s):
    return [x.strip() for x in s.split(",") if x.strip()]


def bench_once(cluster, workload, a):
    proc = cluster.pgbench(WORKLOADS[workload]
                           + ["-T", str(a.seconds), "-c", str(a.clients), "-j", str(a.jobs),
                              "-M", "prepared"])
    m = TPS_RE.search(proc.stdout)
    if not m:
        raise RuntimeError(f"no tps line in pgbench output for {cluster.name} ({workload}):\n"
                           f"{proc.stdout}{proc.stderr}")
    return float(m.group(1))


def round_order(names, r):
    """Round r (0-based) starts at configuration r mod n and keeps the cyclic order."""
    k = r % len(names)
    return names[k:] + names[:k]


def summarise(names, rounds):
    """Per configuration: tps per round, median tps, within-round ratios and overhead."""
    out = {}
    for name in names:
        tps = [r["tps"][name] for r in rounds]
        ratios = [r["ratio"][name] for r in rounds]
        med_r = statistics.median(ratios)
        out[name] = {"tps": tps, "median_tps": statistics.median(tps),
                     "ratios": ratios, "median_ratio": med_r,
                     "ratio_min": min(ratios), "ratio_max": max(ratios),
                     "overhead_percent": (1 - med_r) * 100}
    return out


def comma_list(p, opt, value, choices):
    items = [x.strip() for x in value.split(",") if x.strip()]
    if not items:
        p.error(f"{opt} is empty")
    bad = [x for x in items if x not in choices]
    if bad:
        p.error(f"{opt}: unknown {', '.join(bad)} (choose from {', '.join(choices)})")
    dup = sorted({x for x in items if items.count(x) > 1})
    if dup:
        p.error(f"{opt}: {', '.join(dup)} given more than once")
    return items


def parse_args():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring (head of this file) for details and examples.")
    p.add_argument("--configs", default=DEFAULT_CONFIGS,
                   help=f"comma list from {', '.join(CONFIGS)}; the first is the baseline "
                        f"(default {DEFAULT_CONFIGS})")
    p.add_argument("--workloads", default=DEFAULT_WORKLOADS,
                   help=f"comma list from {', '.join(WORKLOADS)} (default {DEFAULT_WORKLOADS})")
    p.add_argument("--rounds", type=int, default=5,
                   help="rounds per workload; each runs every config once (default 5)")
    p.add_argument("--seconds", type=int, default=15, help="seconds per pgbench run (default 15)")
    p.add_argument("--clients", type=int, default=2, help="pgbench -c (default 2)")
    p.add_argument("--jobs", type=int, default=2, help="pgbench -j (default 2)")
    p.add_argument("--scale", type=int, default=10, help="pgbench -i -s (default 10)")
    p.add_argument("--extra-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="postgresql.conf setting for every cluster, e.g. "
                        "augur.sample_rate=0.01 (repeatable)")
    p.add_argument("--tcp", action="store_true",
                   help="connect over 127.0.0.1 instead of the unix socket")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    a = p.parse_args()
    for name in ("rounds", "seconds", "clients", "jobs", "scale"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be >= 1")
    a.configs = comma_list(p, "--configs", a.configs, list(CONFIGS))
    a.workloads = comma_list(p, "--workloads", a.workloads, list(WORKLOADS))
    a.extra = parse_extra_conf(p, a.extra_conf, RESERVED_SETTINGS)
    return a


def main():
    a = parse_args()
    pg_config, bindir = pg_bindir()
    require_libraries(pg_config, {lib for name in a.configs
                                  for lib in split_libs(CONFIGS[name][0])})
    require_runuser()

    settings = dict(COMMON_SETTINGS)
    settings.update({k: conf_value(v) for k, v in a.extra.items()})

    tmp = make_temp_root("augur-overhead-")
    ports = free_ports(len(a.configs))
    clusters = [Cluster(tmp, port, bindir, {**settings, **CONFIGS[name][2]}, name=name,
                        preload=CONFIGS[name][0], extensions=CONFIGS[name][1], use_tcp=a.tcp)
                for name, port in zip(a.configs, ports)]
    by_name = {c.name: c for c in clusters}
    names = list(a.configs)
    baseline = names[0]
    results = {}   # workload -> list of rounds
    done = 0       # completed pgbench runs

    def benchmark():
        nonlocal done
        log(f"temp dir {tmp}; bindir {bindir}")
        for c in clusters:
            c.create()
        for c in clusters:
            c.start()
            log(f"cluster {c.name:8s} port {c.port}  shared_preload_libraries='{c.preload}'")

        for c in clusters:
            spl = c.psql("SHOW shared_preload_libraries")
            if split_libs(spl) != split_libs(c.preload):
                raise RuntimeError(f"{c.name}: shared_preload_libraries is {spl!r}, "
                                   f"expected {c.preload!r}")
            for ext in c.extensions:
                c.psql(f"CREATE EXTENSION {ext}")
            if c.has_augur:
                state = wait_worker_running(c, timeout=60)
                log(f"{c.name:8s} augur {c.psql('SELECT augur.version()')}: "
                    f"worker state {state}")
            for key in a.extra:
                val = c.psql(f"SELECT current_setting({sql_literal(key)}, true)")
                if c.psql(f"SELECT current_setting({sql_literal(key)}, true) IS NULL") == "t":
                    raise RuntimeError(f"{c.name}: setting {key} is not in effect (unknown "
                                       f"parameter?)\n--- server log ---\n{c.log_tail()}")
                log(f"{c.name:8s} {key} = {val}")

        for c in clusters:  # one at a time
            log(f"initialising {c.name} (pgbench -i -s {a.scale} -q) ...")
            c.pgbench(["-i", "-s", str(a.scale), "-q"])
            c.psql("CHECKPOINT")

        total = len(a.workloads) * a.rounds * len(names) * a.seconds
        log(f"\nconfigs {', '.join(names)} (baseline {baseline}); workloads "
            f"{', '.join(a.workloads)}; {a.rounds} rounds x {a.seconds}s, -M prepared "
            f"-c {a.clients} -j {a.jobs}, via {'tcp 127.0.0.1' if a.tcp else 'unix socket'}; "
            f"at least {total}s of pgbench")
        for w in a.workloads:
            log(f"\n== {w}: pgbench {' '.join(WORKLOADS[w] + ['-M', 'prepared'])}")
            rounds = results[w] = []
            for r in range(a.rounds):
                order = round_order(names, r)
                tps = {}
                for name in order:
                    tps[name] = bench_once(by_name[name], w, a)
                    done += 1
                    log(f"{w} round {r + 1}/{a.rounds}  {name:8s}  tps = {tps[name]:.2f}")
                ratio = {name: tps[name] / tps[baseline] for name in names}
                rounds.append({"round": r + 1, "order": order, "tps": tps, "ratio": ratio})
                log(f"{w} round {r + 1}/{a.rounds}  ratios vs {baseline}: " + ", ".join(
                    f"{name} {ratio[name]:.4f}" for name in names if name != baseline))

        end_states = {}
        for c in clusters:
            if c.has_augur:
                end_states[c.name] = c.psql("SELECT state FROM augur.worker_status")
                if end_states[c.name] != "running":
                    log(f"warning: {c.name}: augur worker state at the end is "
                        f"{end_states[c.name]!r}")

        summary = {w: summarise(names, results[w]) for w in a.workloads}
        log("\nsummary")
        for w in a.workloads:
            log(f"\n{w} ({a.rounds} rounds x {a.seconds}s, baseline {baseline})")
            log(f"  {'config':8s}  {'median tps':>11s}  {'median ratio':>12s}  "
                f"{'ratio min..max':>15s}  {'overhead':>8s}  tps per round")
            for name in names:
                s = summary[w][name]
                spread = f"{s['ratio_min']:.4f}..{s['ratio_max']:.4f}"
                log(f"  {name:8s}  {s['median_tps']:11.2f}  {s['median_ratio']:12.4f}  "
                    f"{spread:>15s}  "
                    f"{s['overhead_percent']:7.2f}%  "
                    + " ".join(f"{t:.2f}" for t in s["tps"]))
        log("")
        for w in a.workloads:
            for name in names:
                s = summary[w][name]
                log(f"{w} {name}: overhead {s['overhead_percent']:.2f}% vs {baseline} "
                    f"(median of {a.rounds} rounds, ratio spread "
                    f"{s['ratio_min']:.4f}..{s['ratio_max']:.4f}, "
                    f"median tps {s['median_tps']:.2f})")

        if a.json:
            write_results_json(a.json, bindir, {
                "params": {"configs": names, "baseline": baseline,
                           "workloads": a.workloads, "rounds": a.rounds,
                           "seconds": a.seconds, "clients": a.clients, "jobs": a.jobs,
                           "scale": a.scale, "connection": "tcp" if a.tcp else "unix",
                           "settings": settings},
                "configs": {c.name: {"shared_preload_libraries": c.preload,
                                     "extensions": c.extensions} for c in clusters},
                "workloads": {w: {"pgbench_args": WORKLOADS[w] + ["-M", "prepared"],
                                  "rounds": results[w], "summary": summary[w]}
                              for w in a.workloads},
                "augur_worker_state_end": end_states,
            })
        return 0

    def clean_up():
        for c in clusters:
            c.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    return run_benchmark(benchmark, clean_up,
                         progress=lambda: f" after {done} complete pgbench run(s)")


if __name__ == "__main__":
    sys.exit(main())
