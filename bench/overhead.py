#!/usr/bin/env python3
"""Measure the cost of Augur loaded-but-idle against a server without it.

Creates two throwaway PostgreSQL clusters side by side (A: shared_preload_libraries
='augur' plus CREATE EXTENSION augur, so the collector is running; B: no preload),
otherwise identically configured, and runs interleaved pairs of read-only pgbench
runs (`pgbench -S -M prepared`), alternating which cluster goes first. Only one
cluster runs pgbench at a time; both stay up throughout. Prints every run, the median
tps of each side, the median/min/max of the per-pair ratios (augur/baseline) and the
overhead = (1 - median ratio) * 100. Both clusters are stopped and the temporary
directory removed on exit, error or Ctrl-C.

Uses only the Python 3 standard library. Honours $PG_CONFIG. When run as root, the
server commands run as the `postgres` OS user via runuser.

    bench/idle_overhead.py [--pairs 7] [--seconds 15] [--clients 2] [--jobs 2]
                           [--scale 10] [--tcp] [--json results.json]
"""

import argparse
import datetime
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SERVER_USER = "postgres"
DB = "postgres"
TPS_RE = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.M)
# Identical on both clusters; only shared_preload_libraries differs.
COMMON_SETTINGS = {
    "shared_buffers": "256MB",
    "max_connections": "50",
    "listen_addresses": "'127.0.0.1'",
}


def log(msg=""):
    print(msg, flush=True)


def pg_bindir():
    pg_config = os.environ.get("PG_CONFIG", "pg_config")
    try:
        out = subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"cannot run {pg_config} --bindir: {e}")
    return pg_config, out.stdout.strip()


def pg_config_value(pg_config, flag):
    return subprocess.run([pg_config, flag], check=True, capture_output=True,
                          text=True).stdout.strip()


def as_server_user(cmd):
    """Prefix cmd so it runs as the postgres OS user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--"] + cmd
    return cmd


def run(cmd, cwd=None, check=True):
    """Run cmd, capturing output; on failure raise with its output attached."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
                           f"{proc.stdout}{proc.stderr}")
    return proc


def free_ports(n):
    """n distinct free loopback ports (all sockets held open until all are chosen)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Cluster:
    def __init__(self, name, root, port, bindir, preload, use_tcp):
        self.name = name
        self.dir = os.path.join(root, name)          # socket directory + log
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = port
        self.bindir = bindir
        self.preload = preload
        self.host = "127.0.0.1" if use_tcp else self.dir
        self.started = False

    def bin(self, prog):
        return os.path.join(self.bindir, prog)

    def conn_args(self):
        return ["-h", self.host, "-p", str(self.port), "-U", "postgres"]

    def create(self):
        os.mkdir(self.dir, 0o700)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(SERVER_USER)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        run(as_server_user([self.bin("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres",
                            "--no-sync", "-E", "UTF8", "--locale=C"]), cwd=self.dir)
        settings = dict(COMMON_SETTINGS)
        settings["port"] = str(self.port)
        settings["unix_socket_directories"] = f"'{self.dir}'"
        settings["shared_preload_libraries"] = f"'{self.preload}'"
        conf = "\n# added by bench/idle_overhead.py\n" + "".join(
            f"{k} = {v}\n" for k, v in settings.items())
        # Append as the server user so file ownership stays right.
        proc = subprocess.run(as_server_user(["sh", "-c", 'cat >> "$1"', "sh",
                                              os.path.join(self.data, "postgresql.conf")]),
                              input=conf, text=True, capture_output=True, cwd=self.dir)
        if proc.returncode != 0:
            raise RuntimeError(f"cannot write postgresql.conf: {proc.stderr}")

    def start(self):
        self.started = True  # set first so a half-started server still gets stopped
        try:
            run(as_server_user([self.bin("pg_ctl"), "-D", self.data, "-l", self.log,
                                "-w", "-t", "60", "start"]), cwd=self.dir)
        except RuntimeError as e:
            raise RuntimeError(f"{e}\n--- {self.name} server log ---\n{self.log_tail()}")

    def stop(self):
        if not self.started:
            return
        proc = run(as_server_user([self.bin("pg_ctl"), "-D", self.data, "-m", "fast",
                                   "-w", "-t", "60", "stop"]), cwd=self.dir, check=False)
        if proc.returncode != 0:
            log(f"warning: stopping cluster {self.name} failed: "
                f"{(proc.stdout + proc.stderr).strip()}")
        self.started = False

    def log_tail(self, n=30):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def psql(self, sql):
        proc = run([self.bin("psql")] + self.conn_args()
                   + ["-d", DB, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        return proc.stdout.strip()

    def pgbench(self, args):
        return run([self.bin("pgbench")] + self.conn_args() + args + [DB])


def wait_worker_running(cluster, timeout):
    """Poll augur.worker_status until the collector reports 'running'."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = cluster.psql("SELECT state FROM augur.worker_status")
        if state == "running":
            return state
        time.sleep(0.5)
    raise RuntimeError(f"augur worker not running after {timeout}s (state={state!r})\n"
                       f"--- server log ---\n{cluster.log_tail()}")


def bench_once(cluster, a):
    proc = cluster.pgbench(["-S", "-n", "-T", str(a.seconds), "-c", str(a.clients),
                            "-j", str(a.jobs), "-M", "prepared"])
    m = TPS_RE.search(proc.stdout)
    if not m:
        raise RuntimeError(f"no tps line in pgbench output for {cluster.name}:\n"
                           f"{proc.stdout}{proc.stderr}")
    return float(m.group(1))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=7, help="interleaved pairs of runs (default 7)")
    p.add_argument("--seconds", type=int, default=15, help="seconds per pgbench run (default 15)")
    p.add_argument("--clients", type=int, default=2, help="pgbench -c (default 2)")
    p.add_argument("--jobs", type=int, default=2, help="pgbench -j (default 2)")
    p.add_argument("--scale", type=int, default=10, help="pgbench -i -s (default 10)")
    p.add_argument("--tcp", action="store_true",
                   help="connect over 127.0.0.1 instead of the unix socket")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    a = p.parse_args()
    for name in ("pairs", "seconds", "clients", "jobs", "scale"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be >= 1")
    return a


def main():
    a = parse_args()
    pg_config, bindir = pg_bindir()
    pkglibdir = pg_config_value(pg_config, "--pkglibdir")
    if not os.path.exists(os.path.join(pkglibdir, "augur.so")):
        sys.exit(f"augur.so not found in {pkglibdir}; run make -C extension install first")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        sys.exit("running as root but runuser is not available")

    # Turn SIGTERM into an exception so the finally block cleans up as for Ctrl-C.
    def on_term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)

    tmp = tempfile.mkdtemp(prefix="augur-idle-")
    os.chmod(tmp, 0o755)  # the server user must be able to reach its cluster dir
    port_a, port_b = free_ports(2)
    augur = Cluster("augur", tmp, port_a, bindir, "augur", a.tcp)
    base = Cluster("baseline", tmp, port_b, bindir, "", a.tcp)
    clusters = (augur, base)
    runs = []
    try:
        log(f"temp dir {tmp}; bindir {bindir}")
        for c in clusters:
            c.create()
            c.start()
            log(f"cluster {c.name:8s} port {c.port}  shared_preload_libraries='{c.preload}'")

        augur.psql("CREATE EXTENSION augur")
        state = wait_worker_running(augur, timeout=60)
        log(f"augur {augur.psql('SELECT augur.version()')}: worker state {state}")
        for c in clusters:
            spl = c.psql("SHOW shared_preload_libraries")
            if spl != c.preload:
                raise RuntimeError(f"{c.name}: shared_preload_libraries is {spl!r}, "
                                   f"expected {c.preload!r}")

        for c in clusters:  # one at a time
            log(f"initialising {c.name} (pgbench -i -s {a.scale} -q) ...")
            c.pgbench(["-i", "-s", str(a.scale), "-q"])
            c.psql("CHECKPOINT")

        log(f"\n{a.pairs} pairs x {a.seconds}s, pgbench -S -n -M prepared "
            f"-c {a.clients} -j {a.jobs}, via {'tcp 127.0.0.1' if a.tcp else 'unix socket'}")
        for i in range(a.pairs):
            order = (augur, base) if i % 2 == 0 else (base, augur)
            pair = {"pair": i + 1, "first": order[0].name}
            for c in order:
                tps = bench_once(c, a)
                pair[c.name] = tps
                log(f"pair {i + 1}/{a.pairs}  {c.name:8s}  tps = {tps:.2f}")
            pair["ratio"] = pair["augur"] / pair["baseline"]
            log(f"pair {i + 1}/{a.pairs}  ratio augur/baseline = {pair['ratio']:.4f}")
            runs.append(pair)

        end_state = augur.psql("SELECT state FROM augur.worker_status")
        if end_state != "running":
            log(f"warning: augur worker state at the end is {end_state!r}")

        ratios = [r["ratio"] for r in runs]
        med_a = statistics.median(r["augur"] for r in runs)
        med_b = statistics.median(r["baseline"] for r in runs)
        med_r = statistics.median(ratios)
        overhead = (1 - med_r) * 100
        log("\nsummary")
        log(f"median tps augur:     {med_a:.2f}")
        log(f"median tps baseline:  {med_b:.2f}")
        log(f"median ratio:         {med_r:.4f}")
        log(f"ratio min..max:       {min(ratios):.4f}..{max(ratios):.4f}")
        log(f"overhead:             {overhead:.2f}%")
        log(f"idle overhead: {overhead:.2f}% (median of {len(runs)} pairs, "
            f"ratio spread {min(ratios):.4f}..{max(ratios):.4f})")

        if a.json:
            result = {
                "when": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "host": platform.node(),
                "cpus": os.cpu_count(),
                "pg_bindir": bindir,
                "params": {"pairs": a.pairs, "seconds": a.seconds, "clients": a.clients,
                           "jobs": a.jobs, "scale": a.scale,
                           "connection": "tcp" if a.tcp else "unix",
                           "settings": COMMON_SETTINGS},
                "runs": runs,
                "summary": {"median_tps_augur": med_a, "median_tps_baseline": med_b,
                            "median_ratio": med_r, "ratio_min": min(ratios),
                            "ratio_max": max(ratios), "overhead_percent": overhead,
                            "augur_worker_state_end": end_state},
            }
            with open(a.json, "w") as f:
                json.dump(result, f, indent=2)
                f.write("\n")
            log(f"wrote {a.json}")
        return 0
    except KeyboardInterrupt:
        log(f"\ninterrupted after {len(runs)} complete pair(s); cleaning up")
        return 130
    except SystemExit as e:
        log(f"\nterminated after {len(runs)} complete pair(s); cleaning up")
        raise
    except RuntimeError as e:
        log(f"\nerror: {e}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # don't let a 2nd Ctrl-C skip cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for c in clusters:
            c.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
