"""Design study for issue 4's 512-byte goal (docs/histogram.md, "Small budgets"): a
dense layout of C log buckets per octave-aligned ladder (S = divisors of 1152 buckets per
octave, collapsing by 2 or 3 as the range grows), with a low and a high overflow cell,
against UDDSketch (alpha0 = 0.001, as bench/histogram/Sources/Sketches.swift) with N
buckets. Not the server's code: a model, to decide the next layout.

Usage: small_budget_study.py [C=116] [N=99] [stream dir=$BENCH_OUT or /tmp/hb]
(the stream files bench/histogram/run writes, one nanosecond value per line).
"""
import math, os, sys
S0 = 1152
GRID = 4096
T = [int(math.floor(S0 * math.log2(1 + m / GRID))) for m in range(GRID)]
def divisors(s):
    return [d for d in range(s, 0, -1) if s % d == 0 and S0 % d == 0]

class Uniform:
    """Dense array of C log buckets over the central range; values beyond it go to the high
    overflow cell while it holds at most n/2048 of the values (p99.9 stays in the array),
    to the low one while it holds at most n/64; past that the array collapses to take the
    new value, and the overflow cell stays a cell, overlapping the array (the bounds take
    overlapping cells, as docs/histogram.md explains)."""
    def __init__(self, C, eps=1/2048):
        self.C = C; self.S = S0; self.counts = {}; self.n = 0; self.mn = None; self.mx = None
        self.eps = eps; self.low = [0, None]; self.high = [0, None]   # count, edge
        self.extra = []   # absorbed overflow cells (lower, upper, count)
    def index(self, x, S):
        e = x.bit_length() - 1
        m = ((x << 12) >> e) & 0xFFF
        return e * S + T[m] // (S0 // S)
    def record(self, x):
        self.n += 1
        self.mn = x if self.mn is None else min(self.mn, x); self.mx = x if self.mx is None else max(self.mx, x)
        g = self.index(x, self.S)
        if not self.counts:
            self.counts[g] = 1; return
        lo, hi = min(self.counts), max(self.counts)
        if g < lo and hi - g + 1 > self.C and self.low[0] + 1 <= self.n / 64:   # below p1.6: rarely asked for
            self.low[0] += 1; self.low[1] = self.edge(lo); return
        if g > hi and g - lo + 1 > self.C and self.high[0] + 1 <= self.eps * self.n:
            self.high[0] += 1; self.high[1] = self.edge(hi + 1); return
        self.counts[g] = self.counts.get(g, 0) + 1
        lo, hi = min(lo, g), max(hi, g)
        if hi - lo + 1 > self.C:
            for d in divisors(self.S)[1:]:
                f = self.S // d
                if hi // f - lo // f + 1 <= self.C:
                    break
            new = {}
            for k, v in self.counts.items():
                new[k // f] = new.get(k // f, 0) + v
            self.counts = new; self.S = d
            # overflow cells become fixed cells
            if self.low[0]: self.extra.append((0, self.low[1], self.low[0])); self.low = [0, None]
            if self.high[0]: self.extra.append((self.high[1], float('inf'), self.high[0])); self.high = [0, None]
    def edge(self, g):
        S = self.S; e, j = divmod(g, S)
        div = S0 // S
        lo, hi = 0, GRID
        while lo < hi:
            mid = (lo + hi) // 2
            if T[mid] // div >= j: hi = mid
            else: lo = mid + 1
        if lo == GRID: return float(2 ** (e + 1))
        return (GRID + lo) * 2.0 ** e / GRID
    def cells(self):
        cs = [(self.edge(g), self.edge(g + 1), c) for g, c in self.counts.items()] + self.extra
        if self.low[0]: cs.append((0, self.low[1], self.low[0]))
        if self.high[0]: cs.append((self.high[1], float('inf'), self.high[0]))
        return cs
    def quantile(self, q):
        r = max(1, math.ceil(q * self.n)); cs = self.cells()
        seen = 0; u = None
        for (l0, u0, c) in sorted(cs, key=lambda t: (t[1], t[0])):
            seen += c
            if seen >= r: u = u0; break
        seen = 0; l = None
        for (l0, u0, c) in sorted(cs, key=lambda t: (t[0], -t[1])):
            seen += c
            if seen >= r: l = l0; break
        l, u = max(l, self.mn), min(u, self.mx)
        est = 2 * l * u / (l + u)
        return est, (u - l) / (u + l)

class UDD:
    def __init__(self, N, a0=0.001):
        self.N = N; self.g = (1 + a0) / (1 - a0); self.b = {}; self.n = 0
    def record(self, x):
        self.n += 1
        i = math.ceil(math.log(x) / math.log(self.g))
        self.b[i] = self.b.get(i, 0) + 1
        while len(self.b) > self.N:
            nb = {}
            for k, v in self.b.items():
                nk = math.ceil(k / 2); nb[nk] = nb.get(nk, 0) + v
            self.b = nb; self.g *= self.g
    def alpha(self): return (self.g - 1) / (self.g + 1)
    def quantile(self, q):
        r = max(1, math.ceil(q * self.n)); seen = 0
        for k in sorted(self.b):
            seen += self.b[k]
            if seen >= r: return 2 * self.g ** k / (self.g + 1)

def exact(s, q): return s[max(0, math.ceil(q * len(s)) - 1)]
QS = [0.5, 0.9, 0.99, 0.999]
C = int(sys.argv[1]) if len(sys.argv) > 1 else 116
N = int(sys.argv[2]) if len(sys.argv) > 2 else 99
DIR = sys.argv[3] if len(sys.argv) > 3 else os.environ.get("BENCH_OUT", "/tmp/hb")
for name in ["lognormal", "bimodal", "pareto", "step", "loguniform", "pgbench"]:
    vals = [int(l) for l in open(os.path.join(DIR, f"{name}.txt"))]
    for label, chunk in [("whole", vals)] + ([("window-worst", None)]):
        if chunk is None:
            worst_b = [0]*4; worst_e = [0]*4; worst_a = 0; held = True
            for st in range(0, len(vals) - 24999, 25000):
                w = vals[st:st+25000]; u = Uniform(C); d = UDD(N)
                for x in w: u.record(max(x, 1)); d.record(max(x,1))
                s = sorted(w)
                for i, q in enumerate(QS):
                    est, b = u.quantile(q); ex = exact(s, q); err = abs(est - ex) / ex
                    held &= err <= b + 1e-12
                    worst_b[i] = max(worst_b[i], b); worst_e[i] = max(worst_e[i], err)
                worst_a = max(worst_a, d.alpha())
            print(f"{name:10} {label:13} uniform{C} bound " + "/".join(f"{b*100:.2f}" for b in worst_b) + f"  err " + "/".join(f"{e*100:.2f}" for e in worst_e) + f"  held={held}  UDD{N} alpha {worst_a*100:.2f}")
            continue
        u = Uniform(C); d = UDD(N)
        for x in chunk: u.record(max(x, 1)); d.record(max(x, 1))
        s = sorted(chunk); bs = []; es = []
        for q in QS:
            est, b = u.quantile(q); ex = exact(s, q); bs.append(b); es.append(abs(est-ex)/ex)
        print(f"{name:10} {label:13} uniform{C} S={u.S} bound " + "/".join(f"{b*100:.2f}" for b in bs) + "  err " + "/".join(f"{e*100:.2f}" for e in es) + f"  UDD{N} alpha {d.alpha()*100:.2f}")
