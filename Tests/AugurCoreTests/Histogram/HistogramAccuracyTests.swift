import AugurCore
import XCTest

/// The accuracy goal as a property of the reported bounds (the benchmark
/// measures the errors themselves against other sketches).
final class HistogramAccuracyTests: XCTestCase {
    /// The server keeps one histogram per flush window and resets its counts, not its
    /// layout, at each flush: from the second window on, the tracked quantiles sit in
    /// level-3 buckets with no residual, so the reported bound itself is within 1%.
    /// In the first window, counts from before a refinement widen the bound, but the
    /// error itself stays within 1%. (Much wider spreads, σ = 2 spans 17 octaves, can
    /// need more than 27 slots at p99.9; the benchmark reports those.)
    func testTwoKilobytesKeepTheTrackedQuantilesWithinOnePercent() throws {
        for (seed, sigma) in [(UInt64(1), 0.5), (2, 1.0), (3, 1.0), (4, 0.25)] {
            var random = SplitMix64(state: seed)
            let buffer = try HistogramBuffer(bytes: 2048)
            for window in 0..<3 {
                buffer.histogram.resetCounts()
                let values = (0..<200_000).map { _ in random.logNormal(median: 1e6, sigma: sigma) }
                buffer.histogram.record(values)
                let sorted = values.sorted()
                for q in [0.5, 0.9, 0.99, 0.999] {
                    let estimate = try buffer.histogram.quantile(q)
                    let exact = Double(exactQuantile(sorted, q))
                    if window == 0 {
                        XCTAssertLessThanOrEqual(abs(estimate.nanoseconds - exact) / exact, 0.01, "sigma \(sigma) q \(q)")
                    } else {
                        XCTAssertLessThanOrEqual(estimate.relativeErrorBound, 0.01, "sigma \(sigma) q \(q) window \(window)")
                    }
                }
            }
        }
    }

    /// A heavy tail in one long histogram: p99.9 sits in an octave refined to level 2
    /// after it had caught values, so its rank can fall in the octave's residual. The
    /// adaptation then still refines the level-2 bucket the rank most likely falls in
    /// (once it refined nothing there: p99.9 carried an 11 % bound on some draws).
    func testATailQuantileInAnOctavesResidualIsStillRefined() throws {
        for seed in UInt64(1)...6 {
            var random = SplitMix64(state: seed * 0x1000 + 3)
            let values = (0..<500_000).map { _ in random.pareto(minimum: 1e5, alpha: 1.2) }
            let buffer = try HistogramBuffer(bytes: 2048)
            buffer.histogram.record(values)
            let estimate = try buffer.histogram.quantile(0.999)
            let exact = Double(exactQuantile(values.sorted(), 0.999))
            XCTAssertLessThanOrEqual(abs(estimate.nanoseconds - exact) / exact, 0.01, "seed \(seed)")
            XCTAssertLessThanOrEqual(estimate.relativeErrorBound, 0.03, "seed \(seed)")
        }
    }
}
