#!/usr/bin/env python3
"""Augur's anomaly detector on the Numenta Anomaly Benchmark (NAB), scored by NAB's rules.

Runs `augur.detect` on every file of the NAB corpus in ../shared/data/nab (or --nab DIR)
through a throwaway cluster with Augur, then scores the detections with NAB's own rules
(bench/anomaly/nab_scoring.py: windows, scaled sigmoid, probationary period, one threshold
per profile for the whole corpus, normalised between the null and the perfect detector),
for the standard, reward_low_FP_rate and reward_low_FN_rate profiles. The detector is
tuned on the corpus as a whole, never per file.

--published DIR scores the published detectors' result files (NAB's results/ directory:
results/<detector>/<category>/<detector>_<file>.csv) with the same scorer on the same
files, for a comparison on this corpus (which lacks NAB's realAWSCloudwatch files).
--cli runs the detector outside the server (the DetectorScores executable), for tuning.

    bench/anomaly/nab.py [--nab DIR] [--cli] [--published DIR] [--json results.json]

Uses the Python 3 standard library.
"""

import argparse
import csv
import datetime
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import nab_scoring as ns  # noqa: E402
import pgbench_cluster as pc  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_NAB = os.path.abspath(os.path.join(ROOT, "..", "shared", "data", "nab"))


def cli_scores(corpus):
    env = dict(os.environ, PATH="/opt/swift/usr/bin:" + os.environ.get("PATH", ""))
    pc.run(["swift", "build", "-c", "release", "--product", "DetectorScores"], cwd=ROOT)
    binary = os.path.join(pc.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT).stdout.strip(),
                          "DetectorScores")
    names = sorted(corpus)
    lines = "".join(",".join(repr(v) for v in corpus[name]["values"]) + "\n" for name in names)
    out = subprocess.run([binary], input=lines, capture_output=True, text=True, check=True, env=env).stdout
    return {name: [float(s) for s in line.split(",")] for name, line in zip(names, out.splitlines())}


def strictly_increasing(timestamps):
    """NAB's timestamps, each a microsecond after the one before where two are equal (a few
    NAB files repeat one; augur.detect refuses that, its scores are per row anyway)."""
    result = []
    for text in timestamps:
        moment = datetime.datetime.fromisoformat(text)
        if result and moment <= result[-1]:
            moment = result[-1] + datetime.timedelta(microseconds=1)
        result.append(moment)
    return [moment.isoformat(sep=" ") for moment in result]


def server_scores(corpus):
    _, bindir = pc.pg_bindir()
    root = pc.make_temp_root("augur-nab-")
    cluster = pc.Cluster(root, pc.free_ports(1)[0], bindir, {"augur.naptime": "3600"}, preload="augur",
                         extensions=("augur",))
    scores = {}

    def body():
        cluster.create()
        cluster.start()
        cluster.psql("CREATE EXTENSION augur")
        for name in sorted(corpus):
            entry = corpus[name]
            sql = ("SELECT score FROM augur.detect('{" + ",".join('"%s"' % t for t in strictly_increasing(entry["timestamps"]))
                   + "}'::timestamptz[], '{"
                   + ",".join(repr(v) for v in entry["values"]) + "}'::float8[]);\n")
            out = subprocess.run([cluster.bin("psql")] + cluster.conn_args() + ["-d", pc.DB, "-X", "-q", "-A", "-t",
                                 "-v", "ON_ERROR_STOP=1", "-f", "-"], input=sql, capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"augur.detect on {name}: {out.stderr}")
            scores[name] = [float(s) for s in out.stdout.split()]
            pc.log(f"  {name}: {len(scores[name])} scores")
        return 0

    def clean_up():
        cluster.stop()
        subprocess.run(["rm", "-rf", root])

    status = pc.run_benchmark(body, clean_up)
    if status != 0:
        sys.exit(status)
    return scores


def published_scores(results_dir, corpus):
    """{detector: {file: scores}} for the detectors whose results cover every file."""
    detectors = {}
    for detector in sorted(os.listdir(results_dir)):
        path = os.path.join(results_dir, detector)
        if not os.path.isdir(path) or detector == "null":
            continue
        files = {}
        for name in corpus:
            category, file = name.split("/")
            result = os.path.join(path, category, f"{detector}_{file}")
            if not os.path.exists(result):
                break
            with open(result) as f:
                files[name] = [float(row["anomaly_score"]) for row in csv.DictReader(f)]
        else:
            detectors[detector] = files
    return detectors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nab", default=DEFAULT_NAB)
    parser.add_argument("--cli", action="store_true")
    parser.add_argument("--published")
    parser.add_argument("--json")
    args = parser.parse_args()

    corpus = ns.load_corpus(args.nab)
    profiles = ns.load_profiles(args.nab)
    pc.log(f"NAB corpus: {len(corpus)} files, {sum(len(e['values']) for e in corpus.values())} rows, "
           f"{sum(len(e['windows']) for e in corpus.values())} windows")
    rows = {"augur": ns.score_corpus(corpus, cli_scores(corpus) if args.cli else server_scores(corpus), profiles)}
    if args.published:
        for detector, scores in published_scores(args.published, corpus).items():
            rows[detector] = ns.score_corpus(corpus, scores, profiles)
    names = sorted(profiles)
    pc.log("detector".ljust(20) + "".join(p.rjust(22) for p in names) + "   threshold (standard)")
    for detector, result in sorted(rows.items(), key=lambda item: -item[1]["standard"]["score"]):
        pc.log(detector.ljust(20) + "".join(f"{result[p]['score']:22.1f}" for p in names)
               + f"   {result['standard']['threshold']:.6g}")
    if args.json:
        import json
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
