#!/usr/bin/env python3
"""DDSketch (alpha = 1%, the PyPI `ddsketch` package) on the histogram benchmark's
stream files: relative error at p50/p90/p99/p99.9 against exact quantiles, and bytes.

usage: ddsketch_errors.py <dir with <stream>.txt files, ns per line> <stream>...
Prints one JSON object: {"rows": [...]} in the shape the Swift benchmark writes.
Bytes: the dense store's span of bins (max key - min key + 1) times 8 bytes per
counter, as the Java/Go implementations would hold it (Python's own objects are larger).
"""
import json
import math
import sys

from ddsketch import DDSketch

QUANTILES = [0.5, 0.9, 0.99, 0.999]


def exact_quantile(sorted_values, q):
    """The value of rank ceil(q*n), as the Swift side defines it."""
    rank = max(1, min(math.ceil(q * len(sorted_values)), len(sorted_values)))
    return sorted_values[rank - 1]


def main():
    directory, streams = sys.argv[1], sys.argv[2:]
    rows = []
    for name in streams:
        with open(f"{directory}/{name}.txt") as f:
            values = [int(line) for line in f if line.strip()]
        sketch = DDSketch(relative_accuracy=0.01)
        for value in values:
            sketch.add(value)
        ordered = sorted(values)
        errors = {}
        for q in QUANTILES:
            exact = exact_quantile(ordered, q)
            errors[str(q)] = abs(sketch.get_quantile_value(q) - exact) / exact
        store = sketch._store
        span = store.max_key - store.min_key + 1 if store.count else 0
        rows.append({"stream": name, "sketch": "DDSketch alpha=1% (py)", "bytes": span * 8,
                     "errors": errors, "bounds": {str(q): 0.01 for q in QUANTILES}})
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
