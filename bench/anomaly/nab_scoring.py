#!/usr/bin/env python3
"""NAB scoring: score anomaly detectors the way the Numenta Anomaly Benchmark does.

Standard library only.  This re-implements the scoring part of NAB
(github.com/numenta/NAB, read at commit ea702d75cc22, Dec 2024) so that a
detector's scores here can be compared with published NAB scores.  "NAB file"
below means a file of that repository.

Rules as implemented, and where each comes from
-----------------------------------------------

Labels (nab/labeler.py, CorpusLabel.getWindows / getLabels)
  * Windows come from labels/combined_windows.json: relative path ->
    ordered list of [start, end] timestamp strings ("2014-04-10 07:15:00.000000").
    They are compared with the data file's timestamps as datetimes (NAB parses
    both), so "...07:15:00.000000" matches the data row "...07:15:00".
  * Every window boundary must match exactly one row of its data file, else
    NAB raises ValueError; so does this module.
  * Data files without a label entry are skipped (NAB prints a warning); a
    label entry without a data file is an error (NAB raises KeyError).

Anomaly scores (nab/detectors/base.py AnomalyDetector.run)
  * Should lie in [0, 1]; NAB checks this when detecting, its scorer does not.
    This module only rejects NaN/inf (some published NAB results, e.g.
    expose's, contain slightly negative scores).

Probationary period (nab/sweeper.py, Sweeper._getProbationaryLength;
runner.py sets probationaryPercent = 0.15)
  * probationaryLength = min(floor(0.15 * numRows), 0.15 * 5000); rows with
    index i < probationaryLength are dropped before any threshold is applied
    (sweeper.prepAnomalyListForScoring). They are never TP, FP, TN or FN.

Per-row weights (nab/sweeper.py, Sweeper.calcSweepScore, scaledSigmoid)
  * scaledSigmoid(x) = -1.0 if x > 3.0, else 2 / (1 + exp(5x)) - 1.
  * The file is walked row by row; a window is entered when the row's
    timestamp equals the start of the next not-yet-entered window and left
    after its end row.  Window width = index(end) - index(start) + 1 (first
    occurrence of each timestamp, as list.index does).
  * Row i inside a window (right edge index R, width W):
      position = -(R - i + 1) / W   (-1.0 at the window's first row)
      weight   = scaledSigmoid(position) * tpWeight / scaledSigmoid(-1.0)
    so a detection on the first row of a window is worth exactly tpWeight.
  * Row i outside any window:
      before the file's first window:  weight = -1.0 * fpWeight
      after a window (right edge R, width W of the most recent window):
          weight = scaledSigmoid(|R - i| / (W - 1)) * fpWeight
  * Per threshold (nab/sweeper.py, Sweeper.calcScoreByThreshold), a row is a
    detection when its anomaly score >= threshold, and
      score = sum(weights of detected rows outside windows)
            + sum over windows with at least one scorable row of
                max(-fnWeight, max weight of detected rows in the window)
    i.e. only the earliest detection in a window counts (the weight falls
    with position) and a missed window costs -fnWeight.  A window lying
    wholly in the probationary period is neither credited nor charged.
  * Counts follow NAB: tp/fn/fp/tn count ROWS (scorable rows inside windows
    detected / not detected, rows outside windows detected / not detected),
    exactly like the TP/TN/FP/FN columns of NAB's *_scores.csv.  The number of
    windows detected / missed is returned as extra keys.

Threshold choice (nab/optimizer.py, optimizeThreshold; sweeper.calcScoreByThreshold)
  * One threshold per (detector, profile) for the whole corpus: the scorable
    rows of all files are pooled, sorted by anomaly score (descending,
    stable), and the corpus score is evaluated at 1.1 (nothing detected) and
    at every distinct anomaly score, incrementally as the threshold falls.
    The threshold with the highest score wins; on ties the highest threshold
    wins (NAB sorts the list, which is in descending threshold order, with a
    stable sort by score).  Score = sum(score parts) in NAB's order: the
    false-positive part first, then windows in order of first appearance in
    the sorted list.

Scoring at that threshold (nab/scorer.py, scoreCorpus / scoreDataSet;
Sweeper.scoreDataSet)
  * Each file is scored on its own at the chosen threshold (its own sweep,
    taking the row with that threshold, or else the next higher one, which is
    the same as "detection iff score >= threshold"); the raw score is the
    sum of the per-file scores ("Totals" row of <det>_<profile>_scores.csv).

Normalisation (nab/runner.py, Runner.normalize; nab/detectors/null)
  * null   = raw score of NAB's null detector (a constant anomaly score of
             0.5 on every row), itself run through the same optimise + score
             steps; the optimiser then picks 1.1, so null = -fnWeight x the
             number of windows with at least one scorable row.
  * perfect = tpWeight x the number of windows in the label file (here: in
             the corpus scored; the same when the corpus is the label file's).
  * score  = 100 * (raw - null) / (perfect - null).

Profiles (config/profiles.json): CostMatrix tpWeight, fpWeight, fnWeight
(tnWeight is not used by NAB's scorer).

Published numbers
  * NAB's results/final_results.json was produced with the thresholds in its
    config/thresholds.json, several of which predate the 2019 sweep optimiser
    (an older local search); re-optimising with the sweep gives the same or a
    higher score for those (e.g. numenta reward_low_FP_rate 63.21 vs 63.12).
    score_corpus_at_thresholds() reproduces the scoring step at given
    thresholds.  Scores on a corpus other than NAB's 58 files (e.g. one
    without realAWSCloudwatch) are not on the same scale as the leaderboard.
  * Checked on NAB's full corpus and published results: at the published
    thresholds, every detector's normalised score matches final_results.json
    to 1e-10, and score_corpus() gives exactly the threshold, raw score and
    counts of NAB's own sweeper.py run as optimizer.py + scorer.py do.

Deviations (only where NAB would crash)
  * NAB's per-file lookup finds no row (matchingRow None -> AttributeError)
    when the chosen threshold is below every scorable score of a file; here
    that file is scored with all its scorable rows detected, which is what
    the ">= threshold" rule gives.
  * A window of width 1 followed by an out-of-window row makes NAB divide by
    zero; here it raises ValueError.
  * NAB sums floats in dictionary/file order that depends on the machine
    (os.walk order, Python 2 dict order for old results); totals can differ
    from NAB's in the last bits.
"""

import csv
import datetime
import json
import math
import os
import sys

__all__ = ["load_corpus", "load_profiles", "score_corpus",
           "score_corpus_at_thresholds", "scaled_sigmoid"]

PROBATIONARY_PERCENT = 0.15   # nab/runner.py: self.probationaryPercent
NO_DETECTION_THRESHOLD = 1.1  # nab/sweeper.py: curThreshold = 1.1
NULL_DETECTOR_SCORE = 0.5     # nab/detectors/null/null_detector.py


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

def load_corpus(nab_dir):
    """Load data files and label windows of a NAB-layout directory.

    Returns {relative path: {"timestamps": [str], "values": [float],
    "windows": [[start, end], ...]}}, relative paths like
    "realKnownCause/nyc_taxi.csv" (the keys of labels/combined_windows.json).
    """
    with open(os.path.join(nab_dir, "labels", "combined_windows.json")) as f:
        windows = json.load(f)
    data_dir = os.path.join(nab_dir, "data")
    corpus = {}
    for category in sorted(os.listdir(data_dir)):
        cat_dir = os.path.join(data_dir, category)
        if not os.path.isdir(cat_dir):
            continue
        for name in sorted(os.listdir(cat_dir)):
            if not name.endswith(".csv"):
                continue
            rel = category + "/" + name
            if rel not in windows:
                continue  # NAB: "Warning: no label for datafile"
            timestamps, values = [], []
            with open(os.path.join(cat_dir, name), newline="") as f:
                reader = csv.reader(f)
                header = next(reader)
                if not header or header[0].strip() != "timestamp":
                    raise ValueError("%s: first column must be 'timestamp'" % rel)
                for row in reader:
                    if not row:
                        continue
                    timestamps.append(row[0])
                    values.append(float(row[1]))
            corpus[rel] = {"timestamps": timestamps, "values": values,
                           "windows": [list(w) for w in windows[rel]]}
    missing = sorted(set(windows) - set(corpus))
    if missing:
        raise ValueError("label entries without a data file: %s" % missing)
    return corpus


def load_profiles(nab_dir):
    """Read config/profiles.json -> {name: {"tp": .., "fp": .., "fn": ..}}."""
    with open(os.path.join(nab_dir, "config", "profiles.json")) as f:
        raw = json.load(f)
    return {name: _profile_weights(p) for name, p in raw.items()}


def _profile_weights(p):
    if "CostMatrix" in p:
        cm = p["CostMatrix"]
        return {"tp": float(cm["tpWeight"]), "fp": float(cm["fpWeight"]),
                "fn": float(cm["fnWeight"])}
    return {"tp": float(p["tp"]), "fp": float(p["fp"]), "fn": float(p["fn"])}


# --------------------------------------------------------------------------
# Per-row weights (nab/sweeper.py)
# --------------------------------------------------------------------------

def scaled_sigmoid(x):
    """nab/sweeper.py scaledSigmoid."""
    if x > 3.0:
        return -1.0
    return 2 * (1 / (1 + math.exp(5 * x))) - 1.0  # 2*sigmoid(-5x) - 1


_MAX_TP = scaled_sigmoid(-1.0)


def _parse_ts(s):
    s = s.strip()
    try:
        return datetime.datetime.fromisoformat(s)
    except ValueError:
        return datetime.datetime.fromisoformat(s.replace("T", " ").rstrip("Z"))


def _sweep_rows(rel, entry):
    """Profile-independent part of Sweeper.calcSweepScore for one file.

    Returns (rows, window_ids): rows is a list of (row index, local window
    index or -1, unweighted score) for the scorable (non-probationary) rows,
    in file order; window_ids are the labels of the windows entered.
    """
    ts_str = entry["timestamps"]
    ts = [_parse_ts(t) for t in ts_str]
    n = len(ts)
    first_index = {}
    counts = {}
    for i, t in enumerate(ts):
        first_index.setdefault(t, i)
        counts[t] = counts.get(t, 0) + 1
    limits = []
    for w in entry["windows"]:
        a, b = _parse_ts(w[0]), _parse_ts(w[1])
        for t in (a, b):
            if counts.get(t, 0) != 1:  # labeler.getWindows: len(f) == 1
                raise ValueError("%s: window timestamp %s does not match "
                                 "exactly one row" % (rel, t))
        limits.append((a, b, "%s|%s" % (rel, w[0])))

    probation = min(math.floor(PROBATIONARY_PERCENT * n),
                    PROBATIONARY_PERCENT * 5000)
    rows = []
    window_ids = []
    cur = None          # (start, end, name) of the window we are in
    cur_local = -1
    cur_right = cur_width = None
    prev_right = prev_width = None
    pending = 0         # index into limits of the next window to enter
    for i, t in enumerate(ts):
        if pending < len(limits) and t == limits[pending][0]:
            cur = limits[pending]
            pending += 1
            cur_right = first_index[cur[1]]
            cur_width = float(cur_right - first_index[cur[0]] + 1)
            window_ids.append(cur[2])
            cur_local = len(window_ids) - 1
        if cur is not None:
            unweighted = scaled_sigmoid(-(cur_right - i + 1) / cur_width)
            wid = cur_local
        else:
            if prev_right is None:
                unweighted = -1.0
            else:
                if prev_width - 1 == 0:
                    raise ValueError("%s: window of width 1 (NAB divides by "
                                     "zero here)" % rel)
                unweighted = scaled_sigmoid(abs(prev_right - i)
                                            / float(prev_width - 1))
            wid = -1
        if i >= probation:
            rows.append((i, wid, unweighted))
        if cur is not None and t == cur[1]:
            prev_right, prev_width = i, cur_width
            cur = None
            cur_right = cur_width = None
    return rows, window_ids


class _Prepared(object):
    """Pooled scorable rows of a corpus, profile- and detector-independent."""

    def __init__(self, corpus):
        self.files = list(corpus.keys())
        self.file_rows = []   # per file: (row indices, global window ids, unweighted)
        self.n_windows = 0    # windows listed in the labels of the corpus
        self.n_seen = 0       # windows entered while walking the files
        self.n_rows = {}      # rows per file
        for rel in self.files:
            entry = corpus[rel]
            if len(entry["timestamps"]) != len(entry["values"]):
                raise ValueError("%s: timestamps and values differ in length" % rel)
            rows, wids = _sweep_rows(rel, entry)
            self.n_rows[rel] = len(entry["values"])
            base = self.n_seen
            self.n_seen += len(wids)
            self.n_windows += len(entry["windows"])
            self.file_rows.append((
                [r[0] for r in rows],
                [(r[1] + base) if r[1] >= 0 else -1 for r in rows],
                [r[2] for r in rows]))


# --------------------------------------------------------------------------
# Sweeping (nab/sweeper.py calcScoreByThreshold, nab/optimizer.py)
# --------------------------------------------------------------------------

def _pool(prep, scores):
    """Pool the scorable rows with their anomaly scores, sorted like NAB."""
    anom, win, unw, fidx = [], [], [], []
    for k, rel in enumerate(prep.files):
        if rel not in scores:
            raise KeyError("no anomaly scores for %s" % rel)
        s = scores[rel]
        idx, wids, u = prep.file_rows[k]
        if len(s) != prep.n_rows[rel]:
            raise ValueError("%s: %d anomaly scores for %d rows"
                             % (rel, len(s), prep.n_rows[rel]))
        for i, w, x in zip(idx, wids, u):
            a = float(s[i])
            if not math.isfinite(a):
                raise ValueError("%s row %d: anomaly score %r is not finite"
                                 % (rel, i, s[i]))
            anom.append(a)
            win.append(w)
            unw.append(x)
            fidx.append(k)
    order = sorted(range(len(anom)), key=anom.__getitem__, reverse=True)
    return ([anom[j] for j in order], [win[j] for j in order],
            [unw[j] for j in order], [fidx[j] for j in order])


def _weights(win, unw, prof):
    tpw, fpw = prof["tp"], prof["fp"]
    return [(u * tpw / _MAX_TP) if w >= 0 else (u * fpw)
            for w, u in zip(win, unw)]


def _best_threshold(anom, win, weights, fnw):
    """calcScoreByThreshold over the pooled list + optimizer's choice."""
    slot = {}
    for w in win:
        if w >= 0 and w not in slot:
            slot[w] = len(slot)
    parts = [-fnw] * len(slot)
    fp_sum = 0.0
    cur_thr = NO_DETECTION_THRESHOLD
    best_thr, best_score = None, None
    for a, w, x in zip(anom, win, weights):
        if a != cur_thr:
            score = sum(parts, fp_sum)
            if best_score is None or score > best_score:
                best_thr, best_score = cur_thr, score
            cur_thr = a
        if w < 0:
            fp_sum += x
        else:
            j = slot[w]
            if x > parts[j]:
                parts[j] = x
    score = sum(parts, fp_sum)
    if best_score is None or score > best_score:
        best_thr, best_score = cur_thr, score
    return best_thr, best_score


def _score_at(prep, pooled, weights, fnw, threshold):
    """scorer.scoreCorpus at one threshold: per-file scores summed."""
    anom, win, unw, fidx = pooled
    nf = len(prep.files)
    slots = [dict() for _ in range(nf)]
    parts = [[] for _ in range(nf)]
    fp_sum = [0.0] * nf
    hit = set()         # windows with at least one detection
    tp = fp = fn = tn = 0
    for a, w, x, k in zip(anom, win, weights, fidx):
        detected = a >= threshold
        if w < 0:
            if detected:
                fp_sum[k] += x
                fp += 1
            else:
                tn += 1
        else:
            sl = slots[k]
            j = sl.get(w)
            if j is None:
                j = sl[w] = len(sl)
                parts[k].append(-fnw)
            if detected:
                tp += 1
                hit.add(w)
                if x > parts[k][j]:
                    parts[k][j] = x
            else:
                fn += 1
    total = 0
    for k in range(nf):
        total += sum(parts[k], fp_sum[k])
    detected_windows = len(hit)
    missed_windows = sum(len(sl) for sl in slots) - detected_windows
    return {"raw": float(total), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "windows_detected": detected_windows,
            "windows_missed": missed_windows}


def _run(prep, scores, profiles, thresholds=None):
    pooled = _pool(prep, scores)
    anom, win, unw, _ = pooled
    out = {}
    for name, prof in profiles.items():
        prof = _profile_weights(prof)
        weights = _weights(win, unw, prof)
        if thresholds is None:
            thr, opt_score = _best_threshold(anom, win, weights, prof["fn"])
        else:
            thr, opt_score = float(thresholds[name]), None
        res = _score_at(prep, pooled, weights, prof["fn"], thr)
        res["threshold"] = thr
        res["optimizer_score"] = opt_score
        out[name] = res
    return out


def _normalise(prep, results, profiles):
    null_scores = {rel: [NULL_DETECTOR_SCORE] * prep.n_rows[rel]
                   for rel in prep.files}
    null = _run(prep, null_scores, profiles)
    for name, res in results.items():
        prof = _profile_weights(profiles[name])
        base = null[name]["raw"]
        perfect = prep.n_windows * prof["tp"]
        res["null"] = base
        res["perfect"] = perfect
        res["windows"] = prep.n_windows
        if perfect - base == 0:
            res["score"] = float("nan")
        else:
            res["score"] = 100 * (res["raw"] - base) / (perfect - base)
    return results


def score_corpus(corpus, scores, profiles):
    """Score a detector like NAB's optimize + score + normalize steps.

    corpus   -- as returned by load_corpus
    scores   -- {relative path: [anomaly score per row, in [0, 1]]}
    profiles -- as returned by load_profiles (NAB's {"CostMatrix": ...} form
                is accepted too)

    Returns {profile: {"score": normalised NAB score, "threshold": chosen
    threshold (detection iff anomaly score >= threshold; 1.1 = none),
    "raw": raw score, "tp", "fp", "fn": NAB's row counts, plus "tn",
    "windows_detected", "windows_missed", "windows", "null", "perfect",
    "optimizer_score"}}.
    """
    prep = _Prepared(corpus)
    return _normalise(prep, _run(prep, scores, profiles), profiles)


def score_corpus_at_thresholds(corpus, scores, profiles, thresholds):
    """Like score_corpus but with fixed thresholds {profile: threshold}
    (NAB's score step run with a given config/thresholds.json)."""
    prep = _Prepared(corpus)
    return _normalise(prep, _run(prep, scores, profiles, thresholds),
                      profiles)


# --------------------------------------------------------------------------
# Self-check
# --------------------------------------------------------------------------

def _window_start_scores(corpus):
    out = {}
    for rel, e in corpus.items():
        s = [0.0] * len(e["values"])
        idx = {}
        for i, t in enumerate(e["timestamps"]):
            idx.setdefault(_parse_ts(t), i)
        for a, _ in e["windows"]:
            s[idx[_parse_ts(a)]] = 1.0
        out[rel] = s
    return out


def _print(label, res):
    print(label)
    for name in sorted(res):
        r = res[name]
        print("  %-20s score=%9.3f  threshold=%-5g raw=%11.4f  tp=%6d fp=%6d "
              "fn=%6d  windows %d/%d  (null=%.1f perfect=%.1f)"
              % (name, r["score"], r["threshold"], r["raw"], r["tp"], r["fp"],
                 r["fn"], r["windows_detected"], r["windows"], r["null"],
                 r["perfect"]))


def _main(argv):
    import time
    nab_dir = argv[1] if len(argv) > 1 else "/work/shared/data/nab"
    t0 = time.time()
    corpus = load_corpus(nab_dir)
    profiles = load_profiles(nab_dir)
    n_rows = sum(len(e["values"]) for e in corpus.values())
    n_win = sum(len(e["windows"]) for e in corpus.values())
    print("NAB corpus %s: %d files, %d rows, %d windows; profiles %s (%.2fs)"
          % (nab_dir, len(corpus), n_rows, n_win,
             ", ".join("%s%s" % (k, v) for k, v in sorted(profiles.items())),
             time.time() - t0))
    ok = True

    t0 = time.time()
    perfect = score_corpus(corpus, _window_start_scores(corpus), profiles)
    _print("(a) perfect detector (1.0 on each window's first row) [%.2fs]"
           % (time.time() - t0), perfect)
    ok &= all(abs(r["score"] - 100.0) < 1e-9 for r in perfect.values())

    t0 = time.time()
    zeros = {rel: [0.0] * len(e["values"]) for rel, e in corpus.items()}
    null = score_corpus(corpus, zeros, profiles)
    _print("(b) null detector (all 0.0) [%.2fs]" % (time.time() - t0), null)
    ok &= all(abs(r["score"]) < 1e-9 for r in null.values())

    t0 = time.time()
    ones = {rel: [1.0] * len(e["values"]) for rel, e in corpus.items()}
    flag_all = score_corpus(corpus, ones, profiles)
    _print("(c) flag-every-row detector (all 1.0), threshold optimised as NAB "
           "does [%.2fs]" % (time.time() - t0), flag_all)
    ok &= all(r["score"] <= 1e-9 for r in flag_all.values())
    print("  NAB's optimiser may choose 1.1 (no detections), so a constant "
          "detector can never score below the null detector's 0.0.")
    forced = score_corpus_at_thresholds(corpus, ones, profiles,
                                        {k: 1.0 for k in profiles})
    _print("(c') flag-every-row detector at a forced threshold of 1.0 "
           "(every row a detection)", forced)
    ok &= all(r["score"] < 0 for r in forced.values())

    print("self-check: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
