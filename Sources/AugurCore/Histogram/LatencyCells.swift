/// Latency cells as persisted (`augur.histogram_delta`): (lower, upper, count), possibly
/// overlapping (a parent's residual and its children), summed over any set of windows.
/// Quantiles come with the same rigorous bound as a live histogram's: counts are exact,
/// only positions inside a cell are lost (see `LatencyHistogram.quantile`).
public struct LatencyCells: Sendable {
    public struct Cell: Equatable, Sendable {
        public var lowerNanoseconds: UInt64
        public var upperNanoseconds: UInt64
        public var count: UInt64

        public init(lowerNanoseconds: UInt64, upperNanoseconds: UInt64, count: UInt64) {
            self.lowerNanoseconds = lowerNanoseconds
            self.upperNanoseconds = upperNanoseconds
            self.count = count
        }
    }

    private let byLower: [Cell]
    private let byUpper: [Cell]
    public let count: UInt64

    /// Cells with an upper bound below their lower one, or no count, are left out.
    public init(_ cells: [Cell]) {
        let usable = cells.filter { $0.count > 0 && $0.upperNanoseconds >= $0.lowerNanoseconds }
        byLower = usable.sorted { ($0.lowerNanoseconds, $0.upperNanoseconds) < ($1.lowerNanoseconds, $1.upperNanoseconds) }
        byUpper = usable.sorted { ($0.upperNanoseconds, $0.lowerNanoseconds) < ($1.upperNanoseconds, $1.lowerNanoseconds) }
        count = usable.reduce(0) { $0 &+ $1.count }
    }

    /// The value of rank ⌈q·n⌉: at least r values lie below the upper bound of the first
    /// cells (by upper bound) holding r values, and at most r − 1 before the lower bound
    /// of the first cells (by lower bound) holding r.
    public func quantile(_ q: Double) throws -> QuantileEstimate {
        guard q >= 0, q <= 1 else { throw HistogramError.quantileOutOfRange(q) }
        guard count > 0 else { throw HistogramError.empty }
        let rank = LatencyHistogram.rank(of: q, count: count)
        func bound(_ cells: [Cell], _ value: (Cell) -> UInt64) -> UInt64 {
            var seen: UInt64 = 0
            for cell in cells {
                seen &+= cell.count
                if seen >= rank { return value(cell) }
            }
            return value(cells[cells.count - 1])
        }
        let lower = bound(byLower, \.lowerNanoseconds), upper = bound(byUpper, \.upperNanoseconds)
        return QuantileEstimate(lower: min(lower, upper), upper: upper)
    }

    /// p50 and p99 of these cells, for the change detector; nil when empty.
    public var window: LatencyWindow? {
        guard let p50 = try? quantile(0.5), let p99 = try? quantile(0.99) else { return nil }
        return LatencyWindow(count: count, p50Nanoseconds: p50.nanoseconds, p99Nanoseconds: p99.nanoseconds)
    }
}

extension LatencyChangeDetector {
    /// Runs the detector over flush windows in time order, merging consecutive windows
    /// until each holds `minimumCount` values (a window of a quiet query is too small to
    /// judge alone). Returns each change with the indexes, in `windows`, of the first and
    /// last flush window of the merged windows where it started and where it was flagged.
    public static func changes(in windows: [[LatencyCells.Cell]], factor: Double = 2,
                               minimumCount: UInt64 = 1_000,
                               warmup: Int = 8) -> [(change: LatencyChange, started: Int, detected: Int)] {
        var detector = LatencyChangeDetector(factor: factor, minimumCount: minimumCount, warmup: warmup)
        var pending: [LatencyCells.Cell] = []
        var merged: [(first: Int, last: Int)] = []
        var first = 0
        var found: [(LatencyChange, Int, Int)] = []
        for (index, cells) in windows.enumerated() {
            pending += cells
            let summary = LatencyCells(pending)
            guard summary.count >= minimumCount, let window = summary.window else { continue }
            merged.append((first, index))
            pending = []
            first = index + 1
            if let change = detector.observe(window), change.startWindow < merged.count,
               change.detectedWindow < merged.count {
                found.append((change, merged[change.startWindow].first, merged[change.detectedWindow].last))
            }
        }
        return found
    }
}

extension HistogramCell {
    /// This cell as a persisted one (its range and count).
    public var latencyCell: LatencyCells.Cell {
        LatencyCells.Cell(lowerNanoseconds: lowerNanoseconds, upperNanoseconds: upperNanoseconds, count: count)
    }
}
