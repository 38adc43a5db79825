import AugurCore
import Foundation
import XCTest

/// Quantiles and change points from persisted window cells (`augur.histogram_delta`).
final class LatencyCellsTests: XCTestCase {
    private func cells(of histogram: LatencyHistogram) -> [LatencyCells.Cell] {
        histogram.cells.filter { $0.count > 0 }.map {
            LatencyCells.Cell(lowerNanoseconds: $0.lowerNanoseconds, upperNanoseconds: $0.upperNanoseconds, count: $0.count)
        }
    }

    /// Cells summed over several windows (residuals and refinements overlapping) still
    /// bound the exact quantile of all their values.
    func testBoundsHoldOverWindowsSummed() throws {
        for seed in UInt64(1)...20 {
            var random = SplitMix64(state: seed)
            let buffer = try HistogramBuffer(bytes: 1024)
            var all: [UInt64] = [], summed: [LatencyCells.Cell] = []
            for _ in 0..<5 {
                buffer.histogram.resetCounts()
                for _ in 0..<2_000 {
                    let value = random.logNormal(median: 1e6, sigma: 1)
                    buffer.histogram.record(nanoseconds: value)
                    all.append(value)
                }
                summed += cells(of: buffer.histogram)
            }
            all.sort()
            let range = LatencyCells(summed)
            XCTAssertEqual(range.count, 10_000)
            for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
                let estimate = try range.quantile(q)
                let exact = all[max(Int((q * Double(all.count)).rounded(.up)) - 1, 0)]
                XCTAssertTrue(estimate.lowerNanoseconds <= exact && exact <= estimate.upperNanoseconds,
                              "seed \(seed) q \(q): \(exact) outside \(estimate)")
            }
        }
    }

    func testEmptyAndBadInput() {
        XCTAssertThrowsError(try LatencyCells([]).quantile(0.5))
        let one = LatencyCells([.init(lowerNanoseconds: 10, upperNanoseconds: 20, count: 3),
                                .init(lowerNanoseconds: 30, upperNanoseconds: 5, count: 9),   // upside down: left out
                                .init(lowerNanoseconds: 40, upperNanoseconds: 50, count: 0)])
        XCTAssertEqual(one.count, 3)
        XCTAssertThrowsError(try one.quantile(1.5))
        XCTAssertEqual(try one.quantile(0.5).upperNanoseconds, 20)
    }

    /// Windows of 500 executions are merged in pairs before the detector sees them; the
    /// change is reported with flush-window indexes.
    func testChangesAcrossSmallWindowsAreFoundAndPlaced() throws {
        var random = SplitMix64(state: 5)
        let buffer = try HistogramBuffer(bytes: 2048)
        let stepAt = 30
        var windows: [[LatencyCells.Cell]] = []
        for index in 0..<70 {
            buffer.histogram.resetCounts()
            for _ in 0..<500 {
                buffer.histogram.record(nanoseconds: random.logNormal(median: index >= stepAt ? 2e6 : 1e6, sigma: 0.3))
            }
            windows.append(cells(of: buffer.histogram))
        }
        let found = LatencyChangeDetector.changes(in: windows)
        XCTAssertEqual(found.count, 1)
        let change = try XCTUnwrap(found.first)
        XCTAssertEqual(change.started, stepAt)
        XCTAssertGreaterThan(change.detected, stepAt)
        XCTAssertLessThan(change.detected, stepAt + 20)
        XCTAssertEqual(change.change.afterP50Nanoseconds / change.change.beforeP50Nanoseconds, 2, accuracy: 0.3)
        XCTAssertEqual(LatencyChangeDetector.changes(in: Array(windows.prefix(stepAt))).count, 0)
    }
}
