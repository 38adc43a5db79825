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
        let (lower, upper) = interval(rank: Self.rank(of: q, count: total))
        return QuantileEstimate(lower: lower, upper: upper)
    }

    /// The worst `relativeErrorBound` over every quantile, 0 when empty.
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
            worst = max(worst, clampedEstimate(lower: byLower[i].bound, upper: byUpper[j].bound).relativeErrorBound)
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

    private func clampedEstimate(lower: UInt64, upper: UInt64) -> QuantileEstimate {
        let smallest: UInt64 = load(HistogramLayout.minOffset)
        let largest: UInt64 = load(HistogramLayout.maxOffset)
        let l = max(lower, smallest), u = min(upper, largest)
        return QuantileEstimate(lower: min(l, u), upper: u)
    }
}
