#!/usr/bin/env python3
"""Capture cost in instructions, beside pg_stat_statements: deterministic where pgbench's
throughput on a shared 2-core machine is not.

Runs the same stream of `SELECT abalance FROM pgbench_accounts WHERE aid = <n>` through a
single-user backend (`postgres --single`) under valgrind's callgrind, with nothing
preloaded, with pg_stat_statements, and with Augur (augur.sample_rate 0.01, histograms on:
the defaults but sampling), each at N and at 2N statements; the difference between the
two runs, divided by N, is the steady cost of one statement without start-up. Augur's
library is run as a copy with its debug info stripped (this valgrind cannot read the
Swift toolchain's DWARF 5).

Installs valgrind and pgbench's tables itself; needs Augur installed in the server
pg_config names. About 6 minutes for the default N = 20,000.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgbench_cluster import Cluster, as_server_user, free_ports, log, make_temp_root, pg_bindir, pg_config_value  # noqa: E402


def instructions(bindir, data, preload, statements, workdir, name):
    out = os.path.join(workdir, f"callgrind.{name}")
    script = os.path.join(workdir, f"{name}.sql")
    with open(script, "w") as f:
        f.writelines(statements)
    proc = subprocess.run(as_server_user(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                                          os.path.join(bindir, "postgres"), "--single", "-D", data,
                                          "-c", f"shared_preload_libraries={preload}", "-c", "augur.sample_rate=0.01",
                                          "postgres"]),
                          stdin=open(script), capture_output=True, text=True, cwd=workdir)
    for line in proc.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1])
    raise RuntimeError(f"callgrind gave no count for {name}:\n{proc.stderr[-2000:]}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--statements", type=int, default=20_000, help="N (default 20000)")
    a = p.parse_args()
    if shutil.which("valgrind") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "valgrind"] if os.geteuid() == 0
                       else ["sudo", "apt-get", "install", "-y", "-q", "valgrind"], check=True, capture_output=True)
    pg_config, bindir = pg_bindir()
    root = make_temp_root("augur-capture-instructions-")
    try:
        cluster = Cluster(root, free_ports(1)[0], bindir, {}, preload="")
        cluster.create()
        cluster.start()
        cluster.pgbench(["-i", "-s", "1", "-q"])
        cluster.psql("CREATE EXTENSION pg_stat_statements")
        cluster.stop()
        stripped = os.path.join(root, "augur.so")
        subprocess.run(["strip", "--strip-debug", "-o", stripped,
                        os.path.join(pg_config_value(pg_config, "--pkglibdir"), "augur.so")], check=True)
        os.chmod(stripped, 0o755)
        rng = random.Random(1)
        stream = [f"SELECT abalance FROM pgbench_accounts WHERE aid = {rng.randint(1, 100000)};\n"
                  for _ in range(2 * a.statements)]
        configs = [("vanilla", ""), ("pg_stat_statements", "pg_stat_statements"), ("augur", stripped)]
        per_statement = {}
        for name, preload in configs:
            # Callgrind writes as the server user: into the cluster's directory.
            short = instructions(bindir, cluster.data, preload, stream[:a.statements], cluster.dir, f"{name}-1")
            long = instructions(bindir, cluster.data, preload, stream, cluster.dir, f"{name}-2")
            per_statement[name] = (long - short) / a.statements
            log(f"{name:<20} {per_statement[name]:>10,.0f} instructions a statement")
        base = per_statement["vanilla"]
        log("")
        for name, _ in configs[1:]:
            extra = per_statement[name] - base
            log(f"{name:<20} +{extra:,.0f} instructions a statement, {100 * extra / base:+.2f} % of vanilla's")
        log(f"augur vs pg_stat_statements: {per_statement['augur'] - per_statement['pg_stat_statements']:+,.0f} a statement")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
