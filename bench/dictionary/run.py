#!/usr/bin/env python3
"""Dictionaries, measured: equal to category_encoders, as fast as the GROUP BY they replace.

Starts a throwaway cluster with Augur and a table `src` of ROWS rows whose category `cat`
takes VALUES values with Zipf-like frequencies (value rank r ~ 1/r, 1 % NULL), a boolean
target `y` and a numeric target `x` that depend on the category. Then:

  equality   dictionaries of cat with target y and with target x; the table is exported
             and category_encoders (TargetEncoder, WOEEncoder, CountEncoder normalised,
             their defaults) is fitted on it in a virtualenv made for the run: the largest
             difference per encoding over all values (goal: below 1e-9). With --citus N,
             the cluster is a Citus coordinator with N workers (all preloading citus and
             augur), the same rows are also distributed over the workers (`src_d`, by id),
             and that table's dictionaries, counted on the workers and merged on the
             coordinator, are compared with category_encoders the same way.
  build      dictionary_create(src, cat, x) against the GROUP BY computing the same
             statistics (count, count, sum, sum of squares per value), interleaved,
             median seconds of ROUNDS each, and the ratio (goal: at most 1.5).
  refresh    1 % of the rows get another category (an UPDATE, noted by the triggers); the
             refresh that counts it, against a full build (goal: under 5 %). Also the
             UPDATE's own time with and without the dictionary's triggers.
  encode     pgbench -M prepared, CLIENTS clients, SECONDS seconds: augur.encode of a
             random value against a primary-key lookup of the same table, interleaved
             ROUNDS times; median tps of each and the ratio.
  writes     single-row inserts into a table with a dictionary, its triggers enabled and
             disabled, interleaved the same way: what writers pay for a dictionary.

    bench/dictionary/run.py [--rows 1000000] [--values 100000] [--rounds 3] [--seconds 10]
                            [--clients 2] [--citus N] [--sections equality,build,refresh,encode,writes]
                            [--json results.json]

Uses the Python 3 standard library, plus pandas and category_encoders, which it installs
into a virtualenv of its own (PyPI reachable) for the equality part only.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pgbench_cluster as pc  # noqa: E402

VENV = "/tmp/augur-bench-dictionary-venv"

# Fits category_encoders on the exported table; prints per encoding the largest
# difference from the dictionary's exported entries.
COMPARE = r"""
import json, sys
import numpy as np, pandas as pd
import category_encoders as ce
rows = pd.read_csv(sys.argv[1], keep_default_na=False, na_values=[""])
for column in ("cat",):
    rows[column] = rows[column].astype(object)
X = rows[["cat"]]
y = rows["y"].map({"t": 1, "f": 0}).astype(int)
encoders = {"target_mean_binary": (ce.TargetEncoder(cols=["cat"]).fit(X, y), "y", "target_mean"),
            "woe": (ce.WOEEncoder(cols=["cat"]).fit(X, y), "y", "woe"),
            "frequency": (ce.CountEncoder(cols=["cat"], normalize=True).fit(X), "y", "frequency"),
            "target_mean_numeric": (ce.TargetEncoder(cols=["cat"]).fit(X, rows["x"]), "x", "target_mean")}
out = {"rows": len(rows), "values": int(rows["cat"].nunique(dropna=False)), "ce_version": ce.__version__}
# Each prefix names one table's exported entries, <prefix>.y and <prefix>.x.
for prefix in sys.argv[2:]:
    result = {}
    for name, (mapping, target, column) in encoders.items():
        e = pd.read_csv(prefix + "." + target, keep_default_na=False, na_values=[""])
        values = pd.DataFrame({"cat": e["value"].astype(object)})
        got = mapping.transform(values).iloc[:, 0].to_numpy(dtype=float)
        result[name] = float(np.max(np.abs(got - e[column].to_numpy(dtype=float))))
    out[prefix.rsplit("/", 1)[-1]] = result
print(json.dumps(out))
"""


def make_table(cluster, rows, values):
    cluster.psql(f"""
        CREATE TABLE src (id bigint PRIMARY KEY, cat text, y boolean, x float8);
        INSERT INTO src
        SELECT g, c, random() < 0.1 + (abs(hashtext(coalesce(c, ''))) % 80) / 100.0,
               random() * 10 + abs(hashtext(coalesce(c, ''))) % 50
          FROM (SELECT g, CASE WHEN random() < 0.01 THEN NULL
                               ELSE 'v' || floor(exp(random() * ln({values})))::int END AS c
                  FROM generate_series(1, {rows}) g) s
        """)
    cluster.psql("VACUUM ANALYZE src")


def timed(cluster, sql):
    start = time.monotonic()
    cluster.psql(sql)
    return time.monotonic() - start


def export_dictionaries(cluster, root, table):
    """Dictionaries of table.cat with targets y and x, exported; their path prefix."""
    cluster.psql(f"""SELECT augur.dictionary_create('{table}', 'cat', 'y', '{{"name": "{table}_y"}}');
                     SELECT augur.dictionary_create('{table}', 'cat', 'x', '{{"name": "{table}_x"}}')""")
    prefix = os.path.join(root, f"entries-{table}")
    cluster.psql(f"\\copy (SELECT value, frequency, target_mean, woe FROM augur_dict.{table}_y) TO '{prefix}.y' CSV HEADER")
    cluster.psql(f"\\copy (SELECT value, target_mean FROM augur_dict.{table}_x) TO '{prefix}.x' CSV HEADER")
    cluster.psql(f"SELECT augur.dictionary_drop('{table}_y'); SELECT augur.dictionary_drop('{table}_x')")
    return prefix


def equality(cluster, root, citus):
    tables = ["src"] + (["src_d"] if citus else [])
    if citus:
        pc.log(f"equality: the same rows distributed over {citus} Citus workers (src_d)")
        cluster.psql("CREATE TABLE src_d (LIKE src INCLUDING ALL); SELECT create_distributed_table('src_d', 'id')")
        cluster.psql("INSERT INTO src_d SELECT * FROM src")
    pc.log(f"equality: dictionaries of {', '.join(tables)}.cat with targets y and x")
    prefixes = [export_dictionaries(cluster, root, table) for table in tables]
    table = os.path.join(root, "src.csv")
    cluster.psql(f"\\copy (SELECT cat, y, x FROM src) TO '{table}' CSV HEADER")
    if not os.path.exists(os.path.join(VENV, "bin", "python")):
        pc.log(f"equality: installing pandas and category_encoders into {VENV}")
        pc.run([sys.executable, "-m", "venv", VENV])
        pc.run([os.path.join(VENV, "bin", "pip"), "install", "-q", "category_encoders", "pandas"])
    script = os.path.join(root, "compare.py")
    with open(script, "w") as f:
        f.write(COMPARE)
    result = json.loads(pc.run([os.path.join(VENV, "bin", "python"), script, table] + prefixes).stdout)
    pc.log(f"equality: {json.dumps(result)}")
    return result


def build(cluster, rounds):
    group_by = """CREATE TEMP TABLE stats AS SELECT cat::text AS value, count(*) AS count, count(x) AS target_count,
                           sum(x) AS target_sum, sum(x * x) AS target_sumsq
                    FROM src GROUP BY 1; DROP TABLE stats"""
    times = {"dictionary": [], "group_by": []}
    for r in range(rounds):
        times["group_by"].append(timed(cluster, group_by))
        times["dictionary"].append(timed(cluster, "SELECT augur.dictionary_create('src', 'cat', 'x')"))
        if r < rounds - 1:
            cluster.psql("SELECT augur.dictionary_drop('src_cat')")
        pc.log(f"build round {r + 1}/{rounds}: dictionary {times['dictionary'][-1]:.2f} s, "
               f"GROUP BY {times['group_by'][-1]:.2f} s")
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {"seconds": times, "median": medians, "ratio": medians["dictionary"] / medians["group_by"]}


def refresh(cluster, rows, rounds, build_seconds):
    changed = max(rows // 100, 1)
    update = f"UPDATE src SET cat = 'moved' || (id % 1000) WHERE id % 100 = {{r}}"
    times = {"refresh": [], "update_with_dictionary": [], "update_without": []}
    for r in range(rounds):
        times["update_with_dictionary"].append(timed(cluster, update.format(r=r)))
        times["refresh"].append(timed(cluster, "SELECT augur.dictionary_refresh('src_cat')"))
    cluster.psql("ALTER TABLE src DISABLE TRIGGER USER")
    for r in range(rounds):
        times["update_without"].append(timed(cluster, update.format(r=r + rounds)))
    cluster.psql("ALTER TABLE src ENABLE TRIGGER USER")
    # The next refresh would count the table again (it missed those updates): drop it.
    cluster.psql("SELECT augur.dictionary_drop('src_cat'); SELECT augur.dictionary_create('src', 'cat', 'x')")
    medians = {k: statistics.median(v) for k, v in times.items()}
    pc.log(f"refresh after {changed} rows changed: {medians['refresh']:.3f} s "
           f"({100 * medians['refresh'] / build_seconds:.1f} % of a build); the UPDATE "
           f"{medians['update_with_dictionary']:.2f} s with the triggers, {medians['update_without']:.2f} s without")
    return {"rows_changed": changed, "seconds": times, "median": medians,
            "share_of_build": medians["refresh"] / build_seconds}


def interleaved_tps(cluster, root, scripts, rounds, seconds, clients, before=lambda name: None):
    """pgbench -M prepared with each of `scripts` ({name: text}) in turn, ROUNDS rounds, the
    order reversed every other round; `before(name)` runs ahead of each. Median tps and
    the ratio of the first script's to the second's."""
    tps = {name: [] for name in scripts}
    for r in range(rounds):
        order = list(scripts) if r % 2 == 0 else list(reversed(scripts))
        for name in order:
            path = os.path.join(root, name + ".sql")
            with open(path, "w") as f:
                f.write(scripts[name])
            before(name)
            out = cluster.pgbench(["-n", "-M", "prepared", "-c", str(clients), "-j", str(clients),
                                   "-T", str(seconds), "-f", path]).stdout
            tps[name].append(float(pc.TPS_RE.search(out).group(1)))
        pc.log(f"round {r + 1}/{rounds}: " + ", ".join(f"{name} {tps[name][-1]:.0f} tps" for name in scripts))
    medians = {k: statistics.median(v) for k, v in tps.items()}
    first, second = list(scripts)
    return {"tps": tps, "median": medians, "ratio": medians[first] / medians[second]}


def encode(cluster, root, rows, values, rounds, seconds, clients):
    """augur.encode of a random value against a primary-key lookup of the same table."""
    return interleaved_tps(cluster, root, {
        "encode": f"\\set v random(1, {values})\nSELECT augur.encode('src_cat', 'v' || :v);\n",
        "primary_key": f"\\set id random(1, {rows})\nSELECT cat FROM src WHERE id = :id;\n",
    }, rounds, seconds, clients)


def writes(cluster, root, values, rounds, seconds, clients):
    """Single-row inserts into a table with a dictionary, its triggers on and off."""
    cluster.psql("CREATE TABLE w (id bigserial PRIMARY KEY, cat text, x float8)")
    cluster.psql("SELECT augur.dictionary_create('w', 'cat', 'x')")
    insert = f"\\set v random(1, {values})\nINSERT INTO w (cat, x) VALUES ('v' || :v, :v);\n"
    return interleaved_tps(
        cluster, root, {"with_dictionary": insert, "without": insert}, rounds, seconds, clients,
        before=lambda name: cluster.psql(
            f"ALTER TABLE w {'ENABLE' if name == 'with_dictionary' else 'DISABLE'} TRIGGER USER"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--citus", type=int, default=0, help="Citus workers (0: no Citus)")
    parser.add_argument("--sections", default="equality,build,refresh,encode,writes")
    parser.add_argument("--json")
    args = parser.parse_args()

    sections = set(args.sections.split(","))
    _, bindir = pc.pg_bindir()
    root = pc.make_temp_root("augur-dictionary-")
    preload = "citus,augur" if args.citus else "augur"
    ports = pc.free_ports(args.citus + 1)
    settings = {"augur.naptime": "3600", "shared_buffers": "'1GB'", "max_wal_size": "'4GB'", "work_mem": "'256MB'",
                "listen_addresses": "'127.0.0.1'", "max_connections": "60"}
    cluster = pc.Cluster(root, ports[0], bindir, settings, name="coordinator" if args.citus else None,
                         preload=preload, extensions=("augur",), use_tcp=bool(args.citus))
    workers = [pc.Cluster(root, port, bindir, dict(settings, shared_buffers="'256MB'"), name=f"worker{i + 1}",
                          preload=preload, extensions=("citus", "augur"), use_tcp=True)
               for i, port in enumerate(ports[1:])]

    def body():
        for node in [cluster] + workers:
            node.create()
            node.start()
            node.psql(("CREATE EXTENSION citus; " if args.citus else "") + "CREATE EXTENSION augur")
        if args.citus:
            cluster.psql(f"SELECT citus_set_coordinator_host('127.0.0.1', {cluster.port})")
            for worker in workers:
                cluster.psql(f"SELECT citus_add_node('127.0.0.1', {worker.port})")
        pc.log(f"table src: {args.rows} rows, {args.values} values")
        make_table(cluster, args.rows, args.values)
        results = {"rows": args.rows, "values": args.values, "citus_workers": args.citus}
        if "equality" in sections:
            results["equality"] = equality(cluster, root, args.citus)
        if sections & {"build", "refresh"}:
            results["build"] = build(cluster, args.rounds)
            pc.log(f"build: dictionary {results['build']['median']['dictionary']:.2f} s vs GROUP BY "
                   f"{results['build']['median']['group_by']:.2f} s: {results['build']['ratio']:.2f}x")
        if "refresh" in sections:
            results["refresh"] = refresh(cluster, args.rows, args.rounds, results["build"]["median"]["dictionary"])
            pc.log(f"refresh: {100 * results['refresh']['share_of_build']:.1f} % of a build")
        if "encode" in sections:
            cluster.psql("SELECT augur.dictionary_create('src', 'cat', 'x') WHERE NOT EXISTS "
                         "(SELECT 1 FROM augur.dictionary WHERE name = 'src_cat')")
            results["encode"] = encode(cluster, root, args.rows, args.values, args.rounds, args.seconds, args.clients)
            pc.log(f"encode: {results['encode']['median']['encode']:.0f} tps vs primary key "
                   f"{results['encode']['median']['primary_key']:.0f} tps: {results['encode']['ratio']:.2f}")
        if "writes" in sections:
            results["writes"] = writes(cluster, root, args.values, args.rounds, args.seconds, args.clients)
            pc.log(f"writes: {results['writes']['median']['with_dictionary']:.0f} tps with the dictionary, "
                   f"{results['writes']['median']['without']:.0f} without: {results['writes']['ratio']:.2f}")
        if args.json:
            pc.write_results_json(args.json, bindir, results)
        return 0

    def clean_up():
        for node in [cluster] + workers:
            node.stop()
        subprocess.run(["rm", "-rf", root])

    return pc.run_benchmark(body, clean_up)


if __name__ == "__main__":
    sys.exit(main())
