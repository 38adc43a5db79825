import AugurCore
import XCTest

/// `LatencyChangeDetector` on per-window summaries taken from real histograms, one
/// per window, as the worker will produce them.
final class HistogramChangeDetectionTests: XCTestCase {
    private let valuesPerWindow = 1_000

    func testDoublingOfP99IsFlaggedWithinTenWindows() throws {
        for seed in UInt64(1)...30 {
            // Even seeds double everything; odd seeds double only the slow tail (p50 stays).
            let tailOnly = seed % 2 == 1
            var random = SplitMix64(state: seed)
            var detector = LatencyChangeDetector()
            let window = try HistogramBuffer(bytes: 2048)
            let stepAt = 20 + random.below(20)
            var changes: [LatencyChange] = []
            for index in 0..<(stepAt + 30) {
                let stepped = index >= stepAt
                window.histogram.resetCounts()
                for _ in 0..<valuesPerWindow {
                    window.histogram.record(nanoseconds: slowQuery(&random, scale: stepped && !tailOnly ? 2 : 1,
                                                                   tailScale: stepped ? 2 : 1))
                }
                if let change = detector.observe(try XCTUnwrap(LatencyWindow(window.histogram))) { changes.append(change) }
            }
            XCTAssertEqual(changes.count, 1, "seed \(seed)")
            let change = try XCTUnwrap(changes.first)
            XCTAssertGreaterThanOrEqual(change.detectedWindow, stepAt, "seed \(seed)")
            XCTAssertLessThan(change.detectedWindow, stepAt + 10, "seed \(seed)")
            XCTAssertLessThanOrEqual(abs(change.startWindow - stepAt), 2, "seed \(seed)")
            // The first windows after a shift see the new range at coarse resolution
            // (up to 1/3 of an octave) until the histogram refines it.
            XCTAssertEqual(change.afterP99Nanoseconds / change.beforeP99Nanoseconds, 2, accuracy: 0.7, "seed \(seed)")
            let p50Ratio = change.afterP50Nanoseconds / change.beforeP50Nanoseconds
            XCTAssertEqual(p50Ratio, tailOnly ? 1 : 2, accuracy: 0.25, "seed \(seed)")
        }
    }

    /// Windows of 1000 values (the detector's default minimum: a p99 needs ten values
    /// above it; the worker merges shorter windows before summarising them).
    func testStationarySeriesRaiseAtMostOneFalseAlarmInTenThousandWindows() throws {
        for (seed, mixture) in [(UInt64(41), true), (42, false)] {
            var random = SplitMix64(state: seed)
            var detector = LatencyChangeDetector()
            let window = try HistogramBuffer(bytes: 2048)
            var alarms = 0
            for _ in 0..<10_000 {
                window.histogram.resetCounts()
                for _ in 0..<valuesPerWindow {
                    window.histogram.record(nanoseconds: mixture ? slowQuery(&random, scale: 1, tailScale: 1)
                                                                 : random.logNormal(median: 5e5, sigma: 1))
                }
                if detector.observe(try XCTUnwrap(LatencyWindow(window.histogram))) != nil { alarms += 1 }
            }
            XCTAssertLessThanOrEqual(alarms, 1, "seed \(seed)")
        }
    }

    func testThinWindowsAndNonsenseAreSkipped() {
        var detector = LatencyChangeDetector(minimumCount: 100)
        let nonsense = [LatencyWindow(count: 10, p50Nanoseconds: 1, p99Nanoseconds: 1e12),
                        LatencyWindow(count: 1_000, p50Nanoseconds: .nan, p99Nanoseconds: 5),
                        LatencyWindow(count: 1_000, p50Nanoseconds: -1, p99Nanoseconds: .infinity),
                        LatencyWindow(count: 1_000, p50Nanoseconds: 0, p99Nanoseconds: 0)]
        for _ in 0..<100 {
            for window in nonsense { XCTAssertNil(detector.observe(window)) }
        }
        for _ in 0..<20 {
            XCTAssertNil(detector.observe(LatencyWindow(count: 1_000, p50Nanoseconds: 1e6, p99Nanoseconds: 1e7)))
        }
        var flagged = false
        for _ in 0..<10 {
            flagged = flagged || detector.observe(LatencyWindow(count: 1_000, p50Nanoseconds: 1e6, p99Nanoseconds: 3e7)) != nil
        }
        XCTAssertTrue(flagged)
    }

    /// A query whose body is lognormal around 2 ms and whose slowest 3% come from a
    /// second lognormal around 20 ms (so p99 lies in the tail component).
    private func slowQuery(_ random: inout SplitMix64, scale: Double, tailScale: Double) -> UInt64 {
        random.unit() < 0.97 ? random.logNormal(median: 2e6 * scale, sigma: 0.4)
                             : random.logNormal(median: 2e7 * tailScale, sigma: 0.4)
    }
}
