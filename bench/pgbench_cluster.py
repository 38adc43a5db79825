"""Throwaway PostgreSQL clusters for the benchmarks in bench/ (overhead.py, flush_lag.py).

A Cluster is initdb'ed into its own directory under a temporary root (make_temp_root),
gets its postgresql.conf settings appended, a free loopback port (free_ports) and its unix
socket in that directory, and is driven with psql and pgbench from the same bindir
(TPS_RE reads pgbench's tps; wait_worker_running waits for Augur's background worker).
stop() shuts it down (fast mode).

The server binaries come from `$PG_CONFIG --bindir` (pg_config on PATH when PG_CONFIG is
unset; require_libraries checks its pkglibdir). When run as root, the server commands run
as the `postgres` OS user via `runuser -u postgres --` (as_server_user, require_runuser);
clients connect as the database user postgres to the database postgres, with trust
authentication.

run_benchmark runs a benchmark and then its cleanup (stop the clusters, remove the
temporary root) on exit, error, Ctrl-C or SIGTERM; write_results_json writes its results.

Uses only the Python 3 standard library.
"""

import datetime
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SERVER_USER = "postgres"
DB = "postgres"
# pgbench's throughput line.
TPS_RE = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.M)


def log(msg=""):
    print(msg, flush=True)


def pg_bindir():
    """(pg_config command, its --bindir); exits with a message when it cannot be run."""
    pg_config = os.environ.get("PG_CONFIG", "pg_config")
    try:
        out = subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"cannot run {pg_config} --bindir: {e}")
    return pg_config, out.stdout.strip()


def pg_config_value(pg_config, flag):
    return subprocess.run([pg_config, flag], check=True, capture_output=True,
                          text=True).stdout.strip()


def require_libraries(pg_config, libs):
    """Exit with a hint when one of the shared libraries libs is not in the pkglibdir."""
    pkglibdir = pg_config_value(pg_config, "--pkglibdir")
    for lib in sorted(libs):
        if not os.path.exists(os.path.join(pkglibdir, lib + ".so")):
            hint = ("run make -C extension install first" if lib == "augur"
                    else "install postgresql-contrib")
            sys.exit(f"{lib}.so not found in {pkglibdir}; {hint}")


def require_runuser():
    """Exit with a message when running as root without runuser (see as_server_user)."""
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        sys.exit("running as root but runuser is not available")


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


def make_temp_root(prefix):
    """A new temporary directory for the clusters' directories; the caller removes it."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.chmod(tmp, 0o755)  # the server user must be able to reach the cluster dirs
    return tmp


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


def sql_literal(s):
    return "'" + s.replace("'", "''") + "'"


def conf_value(v):
    """A postgresql.conf value: quoted (every GUC type accepts a quoted value)."""
    if len(v) >= 2 and v[0] == "'" and v[-1] == "'":
        return v
    return sql_literal(v)


def parse_extra_conf(parser, items, reserved):
    """--extra-conf KEY=VALUE items as {key: raw value}; a bad item or a setting the
    script sets itself (in `reserved`) is a usage error."""
    extra = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", key):
            parser.error(f"--extra-conf {item!r}: expected KEY=VALUE")
        if key.lower() in reserved:
            parser.error(f"--extra-conf: {key} is set by this script")
        extra[key] = value.strip()
    return extra


class Cluster:
    """One throwaway cluster: data directory, unix socket and server.log in one directory.

    root        the temporary directory the cluster's directory is made in
    port        the port it listens on (on 127.0.0.1 when listen_addresses says so)
    bindir      where initdb, pg_ctl, psql and pgbench are
    settings    postgresql.conf entries {name: value as written in the file}; port and
                unix_socket_directories are added to them
    name        when several clusters run side by side: the name of the cluster's
                directory, and how messages refer to it. Without a name the directory is
                root/cluster and messages speak of "the cluster".
    preload     shared_preload_libraries, added to settings; None leaves it to settings
    extensions  the extensions meant to be created in it (by the caller)
    use_tcp     clients (psql, pgbench) connect over 127.0.0.1 instead of the unix socket
    """

    def __init__(self, root, port, bindir, settings, name=None, preload=None,
                 extensions=(), use_tcp=False):
        self.name = name
        self.dir = os.path.join(root, name or "cluster")  # socket directory + log
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = port
        self.bindir = bindir
        self.settings = settings
        self.preload = preload
        self.extensions = extensions
        self.host = "127.0.0.1" if use_tcp else self.dir
        self.started = False

    @property
    def has_augur(self):
        return "augur" in self.extensions

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
        settings = dict(self.settings)
        settings["port"] = str(self.port)
        settings["unix_socket_directories"] = f"'{self.dir}'"
        if self.preload is not None:
            settings["shared_preload_libraries"] = f"'{self.preload}'"
        # Names the benchmark script being run: bench/overhead.py or bench/flush_lag.py.
        conf = f"\n# added by bench/{os.path.basename(sys.argv[0])}\n" + "".join(
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
            heading = f"{self.name} server log" if self.name else "server log"
            raise RuntimeError(f"{e}\n--- {heading} ---\n{self.log_tail()}")

    def stop(self):
        if not self.started:
            return
        proc = run(as_server_user([self.bin("pg_ctl"), "-D", self.data, "-m", "fast",
                                   "-w", "-t", "60", "stop"]), cwd=self.dir, check=False)
        if proc.returncode != 0:
            which = f"cluster {self.name}" if self.name else "the cluster"
            log(f"warning: stopping {which} failed: {(proc.stdout + proc.stderr).strip()}")
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
    which = f"{cluster.name}: " if cluster.name else ""
    raise RuntimeError(f"{which}augur worker not running after {timeout}s (state={state!r})\n"
                       f"--- server log ---\n{cluster.log_tail()}")


def write_results_json(path, bindir, results):
    """Write a benchmark's results to path as JSON: when, host, cpus, pg_bindir, then results."""
    doc = {
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "pg_bindir": bindir,
        **results,
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    log(f"wrote {path}")


def run_benchmark(body, clean_up, progress=lambda: ""):
    """Return body()'s exit status; clean_up() runs afterwards, whatever happens.

    SIGTERM is turned into SystemExit(128 + signum) so that it cleans up as Ctrl-C does.
    Ctrl-C logs "interrupted<progress()>; cleaning up" and returns 130, SIGTERM logs
    "terminated<progress()>; cleaning up" and exits with 143, a RuntimeError logs
    "error: <message>" and returns 1. clean_up runs with Ctrl-C and SIGTERM ignored.
    """
    def on_term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    try:
        return body()
    except KeyboardInterrupt:
        log(f"\ninterrupted{progress()}; cleaning up")
        return 130
    except SystemExit:
        log(f"\nterminated{progress()}; cleaning up")
        raise
    except RuntimeError as e:
        log(f"\nerror: {e}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # don't let a 2nd Ctrl-C skip cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        clean_up()
