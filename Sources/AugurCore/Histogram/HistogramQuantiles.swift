/// A quantile and how far it can be from the truth.
public struct QuantileEstimate: Equatable, Sendable {
    /// The estimate, in nanoseconds.
    public let nanoseconds: Double
    /// |estimate − true| / true is at most this, for the true value at the same rank.
    public let relativeErrorBound: Double
    /// The true value is known to lie in `lowerNanoseconds...upperNanoseconds`.
    public let lowerNanoseconds: UInt64
    public let upperNanoseconds: UInt64

    /// The estimate that minimises the worst relative error over `[lower, upper]` is the
    /// harmonic mean 2·l·u/(l+u); its worst case, at either end, is (u−l)/(u+l).
    init(lower: UInt64, upper: UInt64) {
        lowerNanoseconds = lower
        upperNanoseconds = upper
        let l = Double(lower), u = Double(upper)
        nanoseconds = lower == 0 ? 0 : 2 * l * u / (l + u)
        relativeErrorBound = upper == 0 ? 0 : (u - l) / (u + l)
    }

    /// How much bound a likely position may cost: at most this times the harmonic mean's.
    static let slack = 1.25

    /// `estimate`, moved to where its worst relative error over `[lower, upper]`
    /// ((x̂ − l)/l at the low end, (u − x̂)/u at the high end) is at most `slack` times the
    /// harmonic mean's: a likely position may cost some bound, never much.
    init(lower: UInt64, upper: UInt64, estimate: Double) {
        let l = Double(lower), u = Double(upper)
        lowerNanoseconds = lower
        upperNanoseconds = upper
        if lower > 0, estimate.isFinite {
            let allowed = Self.slack * (u - l) / (u + l)
            nanoseconds = min(max(estimate, l, u * (1 - allowed)), u, l * (1 + allowed))
            relativeErrorBound = max((nanoseconds - l) / l, (u - nanoseconds) / u)
        } else {
            nanoseconds = lower == 0 ? 0 : 2 * l * u / (l + u)
            relativeErrorBound = upper == 0 ? 0 : (u - l) / (u + l)
        }
    }
}

extension LatencyHistogram {
    /// The value of rank ⌈q·n⌉ (the smallest value for q = 0), with its error bound.
    ///
    /// Why the bound is rigorous: counts are exact, only positions inside a cell are lost.
    /// Sorting cells by upper bound, the first prefix holding r values ends at some `u`:
    /// at least r values are below `u`, so the r-th is. Sorting by lower bound, the first
    /// prefix holding r values starts a cell at `l`: at most r−1 values come before it,
    /// so the r-th is at least `l`. A residual (counts from before a bucket was refined)
    /// is a cell spanning its whole bucket, so it widens [l, u] only as much as it must.
    /// The exact minimum and maximum narrow the ends.
    public func quantile(_ q: Double) throws -> QuantileEstimate {
        guard q >= 0, q <= 1 else { throw HistogramError.quantileOutOfRange(q) }
        let total = count
        guard total > 0 else { throw HistogramError.empty }
        let rank = Self.rank(of: q, count: total)
        let (lower, upper) = interval(rank: rank)
        guard let likely = likelyCell(rank: rank) else { return QuantileEstimate(lower: lower, upper: upper) }
        let l = Double(max(likely.lower, lower)), u = Double(min(likely.upper, upper))
        guard l > 0, l < u else { return QuantileEstimate(lower: lower, upper: upper) }
        return QuantileEstimate(lower: lower, upper: upper, estimate: 2 * l * u / (l + u))
    }

    /// The worst `relativeErrorBound` any quantile can report, 0 when empty: per rank, the
    /// interval's bound at the harmonic mean times the slack a likely position may take
    /// (and never more than the interval's widest error, (u − l)/l).
    public var relativeErrorBound: Double {
        var byLower: [(bound: UInt64, through: UInt64)] = []
        var byUpper: [(bound: UInt64, through: UInt64)] = []
        var seen: UInt64 = 0
        forEachCell(parentsFirst: true) { cell in
            if cell.count > 0 { seen &+= cell.count; byLower.append((cell.lowerNanoseconds, seen)) }
            return true
        }
        seen = 0
        forEachCell(parentsFirst: false) { cell in
            if cell.count > 0 { seen &+= cell.count; byUpper.append((cell.upperNanoseconds, seen)) }
            return true
        }
        // Both ends are step functions of the rank; walk the union of their steps.
        var worst = 0.0, i = 0, j = 0
        while i < byLower.count, j < byUpper.count {
            let interval = clampedEstimate(lower: byLower[i].bound, upper: byUpper[j].bound)
            let l = Double(interval.lowerNanoseconds), u = Double(interval.upperNanoseconds)
            let widest = l > 0 ? (u - l) / l : interval.relativeErrorBound
            worst = max(worst, min(QuantileEstimate.slack * interval.relativeErrorBound, widest))
            let next = min(byLower[i].through, byUpper[j].through)
            if byLower[i].through == next { i += 1 }
            if byUpper[j].through == next { j += 1 }
        }
        return worst
    }

    static func rank(of q: Double, count: UInt64) -> UInt64 {
        let scaled = (q * Double(count)).rounded(.up)
        guard scaled >= 1 else { return 1 }
        return scaled >= Double(count) ? count : UInt64(scaled)
    }

    /// Where the value of 1-based `rank` is known to lie.
    func interval(rank: UInt64) -> (lower: UInt64, upper: UInt64) {
        var lower: UInt64 = 0, upper: UInt64 = .max, seen: UInt64 = 0
        forEachCell(parentsFirst: true) { cell in
            seen &+= cell.count
            if seen >= rank { lower = cell.lowerNanoseconds; return false }
            return true
        }
        seen = 0
        forEachCell(parentsFirst: false) { cell in
            seen &+= cell.count
            if seen >= rank { upper = cell.upperNanoseconds; return false }
            return true
        }
        let estimate = clampedEstimate(lower: lower, upper: upper)
        return (estimate.lowerNanoseconds, estimate.upperNanoseconds)
    }

    /// The leaf where the value of `rank` most likely lies: each residual (values counted
    /// before its bucket was refined) spread over the bucket's children in proportion to
    /// what they caught since (evenly while they caught nothing). Within a bucket the shape
    /// of the data changes slowly, so this places those values far better than "anywhere
    /// in the bucket"; it only picks the point estimate, inside the rigorous interval.
    /// Nil when the rank lies among clamped values or in an unrefined octave.
    func likelyCell(rank: UInt64) -> (lower: UInt64, upper: UInt64)? {
        typealias Layout = HistogramLayout
        guard !isCompact else { return nil }   // no residuals: the interval is one bucket
        var seen = Double(clampedLowCount)
        let target = Double(rank)
        guard seen < target else { return nil }
        for octave in 0..<Layout.octaveCount {
            let low = Layout.octaveLow(octave)
            guard let group = level2Slot(ofOctave: octave) else {
                seen += Double(octaveCount(octave))
                if seen >= target { return nil }
                continue
            }
            var bucketMass = [Double](repeating: 0, count: Layout.level2Fanout)
            for bucket in 0..<Layout.level2Fanout {
                bucketMass[bucket] = Double(counter(group, bucket))
                if let fine = level3Slot(under: group, bucket: bucket) {
                    for sub in 0..<Layout.level3Fanout { bucketMass[bucket] += Double(counter(fine, sub)) }
                }
            }
            let octaveMass = bucketMass.reduce(0, +)
            let octaveResidual = Double(octaveCount(octave))
            let width2 = low >> UInt64(Layout.level2Shift)
            for bucket in 0..<Layout.level2Fanout {
                let share = (bucketMass[bucket] + 0.5) / (octaveMass + 0.5 * Double(Layout.level2Fanout))
                let bucketTotal = bucketMass[bucket] + octaveResidual * share
                let low2 = low + UInt64(bucket) * width2
                guard let fine = level3Slot(under: group, bucket: bucket) else {
                    seen += bucketTotal
                    if seen >= target { return (low2, low2 + width2) }
                    continue
                }
                let childMass = bucketMass[bucket] - Double(counter(group, bucket))
                let width3 = low >> UInt64(Layout.level3Shift)
                for sub in 0..<Layout.level3Fanout {
                    let subShare = (Double(counter(fine, sub)) + 0.5) / (childMass + 0.5 * Double(Layout.level3Fanout))
                    seen += bucketTotal * subShare
                    let low3 = low2 + UInt64(sub) * width3
                    if seen >= target { return (low3, low3 + width3) }
                }
            }
        }
        return nil
    }

    private func clampedEstimate(lower: UInt64, upper: UInt64) -> QuantileEstimate {
        let smallest: UInt64 = load(HistogramLayout.minOffset)
        let largest: UInt64 = load(HistogramLayout.maxOffset)
        let l = max(lower, smallest), u = min(upper, largest)
        return QuantileEstimate(lower: min(l, u), upper: u)
    }
}
