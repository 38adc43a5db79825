/// One window's summary of a query's latency (one flush window of its histogram).
public struct LatencyWindow: Equatable, Sendable {
    public let count: UInt64
    public let p50Nanoseconds: Double
    public let p99Nanoseconds: Double

    public init(count: UInt64, p50Nanoseconds: Double, p99Nanoseconds: Double) {
        self.count = count
        self.p50Nanoseconds = p50Nanoseconds
        self.p99Nanoseconds = p99Nanoseconds
    }

    /// The window a histogram holds; nil when it is empty.
    public init?(_ histogram: LatencyHistogram) {
        guard let p50 = try? histogram.quantile(0.5), let p99 = try? histogram.quantile(0.99) else { return nil }
        self.init(count: histogram.count, p50Nanoseconds: p50.nanoseconds, p99Nanoseconds: p99.nanoseconds)
    }
}

/// A detected change point, for `augur.latency_changes`.
public struct LatencyChange: Equatable, Sendable {
    /// The first window of the new regime (where the CUSUM last left zero).
    public let startWindow: Int
    /// The window at which the change was flagged.
    public let detectedWindow: Int
    public let beforeP50Nanoseconds: Double
    public let beforeP99Nanoseconds: Double
    public let afterP50Nanoseconds: Double
    public let afterP99Nanoseconds: Double
}

/// Flags a sustained step in a query's p50 or p99, window by window.
///
/// Each quantile is followed in log2 space, where a step by a factor f is a shift of
/// δ = log2(f) whatever the query's scale. Against a baseline (the median of the first
/// `warmup` usable windows), two one-sided CUSUMs per quantile accumulate
/// S ← max(0, S + min(±(x − baseline), δ) − δ/2) and flag at h = 2δ.
/// A step of exactly f adds up to δ/2 per window, so it is flagged after four to six
/// windows. Each window's deviation is capped at δ because a p99 over a few hundred
/// values is not Gaussian: when a window happens to catch few tail values its p99
/// falls into the body of the distribution, a one-window jump of several δ that an
/// uncapped CUSUM would flag at once. Capped, a false alarm needs four such windows
/// in a row. Page–Hinkley is this test with a running mean as baseline; a running
/// mean absorbs a slow step, so the fixed baseline is kept.
/// After a change, the windows of the new regime become the next baseline.
public struct LatencyChangeDetector: Sendable {
    public let factor: Double
    public let minimumCount: UInt64
    public let warmup: Int

    private var windowIndex = -1
    private var baseline: (p50: Double, p99: Double)?
    /// Recent usable windows in log2 (index, p50, p99); the baseline's or the excursion's.
    private var recent: [(index: Int, p50: Double, p99: Double)] = []
    private var cusums = [OneSidedCUSUM](repeating: OneSidedCUSUM(), count: 4)

    /// - Parameters:
    ///   - factor: the smallest step worth reporting (2: a doubling or halving).
    ///   - minimumCount: windows with fewer values are skipped: a p99 needs about ten
    ///     values above it, so merge short windows (`LatencyHistogram.merge`) first.
    ///   - warmup: usable windows that make a baseline.
    public init(factor: Double = 2, minimumCount: UInt64 = 1_000, warmup: Int = 8) {
        self.factor = factor.isFinite && factor > 1 ? factor : 2
        self.minimumCount = minimumCount
        self.warmup = max(warmup, 1)
    }

    /// Feeds the next window; returns the change it completes, if any.
    public mutating func observe(_ window: LatencyWindow) -> LatencyChange? {
        windowIndex += 1
        guard window.count >= minimumCount, window.p50Nanoseconds > 0, window.p99Nanoseconds > 0,
              window.p50Nanoseconds.isFinite, window.p99Nanoseconds.isFinite else { return nil }
        let point = (index: windowIndex, p50: log2(window.p50Nanoseconds), p99: log2(window.p99Nanoseconds))
        guard let baseline else {
            recent.append(point)
            if recent.count >= warmup { self.baseline = (median(recent.map(\.p50)), median(recent.map(\.p99))) }
            return nil
        }
        let shift = log2(factor)
        let deviations = [point.p50 - baseline.p50, baseline.p50 - point.p50,
                          point.p99 - baseline.p99, baseline.p99 - point.p99]
        var flagged: Int?
        for i in cusums.indices {
            cusums[i].add(min(deviations[i], shift) - shift / 2, at: windowIndex)
            if cusums[i].score >= 2 * shift, flagged.map({ cusums[i].start < $0 }) ?? true {
                flagged = cusums[i].start
            }
        }
        let excursionStart = cusums.filter { $0.score > 0 }.map(\.start).min() ?? windowIndex + 1
        recent.removeAll { $0.index < excursionStart - warmup }
        recent.append(point)
        guard let start = flagged else { return nil }
        let after = recent.filter { $0.index >= start }
        let change = LatencyChange(startWindow: start, detectedWindow: windowIndex,
                                   beforeP50Nanoseconds: exp2(baseline.p50), beforeP99Nanoseconds: exp2(baseline.p99),
                                   afterP50Nanoseconds: exp2(median(after.map(\.p50))),
                                   afterP99Nanoseconds: exp2(median(after.map(\.p99))))
        recent = after
        cusums = [OneSidedCUSUM](repeating: OneSidedCUSUM(), count: 4)
        self.baseline = recent.count >= warmup ? (median(recent.map(\.p50)), median(recent.map(\.p99))) : nil
        return change
    }
}

/// S ← max(0, S + x), remembering where S last left zero (the change's estimated start).
private struct OneSidedCUSUM: Sendable {
    var score = 0.0
    var start = 0

    mutating func add(_ increment: Double, at index: Int) {
        if score == 0 { start = index }
        score = max(0, score + increment)
    }
}

private func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
