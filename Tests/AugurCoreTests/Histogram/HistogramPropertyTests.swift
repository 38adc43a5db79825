import AugurCore
import XCTest

/// Seeded randomised properties of `LatencyHistogram` over the streams of `TestStream`.
final class HistogramPropertyTests: XCTestCase {
    /// Budgets of both layouts: under 1 KiB (from 320 bytes) compact, else tiered.
    private let budgets = [208, 276, 512, 1024, 2048, 4096, 328, 777]
    private let tieredBudgets = [208, 276, 1024, 2048, 4096]

    func testCountsAreConservedThroughSplitsAndMerges() throws {
        for seed in UInt64(1)...40 {
            let buffer = try HistogramBuffer(bytes: budgets[Int(seed) % budgets.count])
            let values = TestStream.values(seed: seed, count: 20_000)
            for (index, value) in values.enumerated() {
                buffer.histogram.record(nanoseconds: value)
                if index % 997 == 0 { try assertConsistent(buffer.histogram, recorded: index + 1, seed: seed) }
            }
            try assertConsistent(buffer.histogram, recorded: values.count, seed: seed)
        }
    }

    /// A stream that walks across the whole range in a small budget forces many
    /// refinements and merges back into parents; nothing may be lost on the way.
    func testCountsSurviveEvictionUnderPressure() throws {
        let buffer = try HistogramBuffer(bytes: 1024)
        var random = SplitMix64(state: 99)
        var recorded = 0, refinedOctaves = Set<UInt64>()
        for step in 0..<60 {
            let median = 1_000.0 * pow(1.3, Double(step))
            for _ in 0..<10_000 { buffer.histogram.record(nanoseconds: random.logNormal(median: median, sigma: 0.1)) }
            recorded += 10_000
            try assertConsistent(buffer.histogram, recorded: recorded, seed: 99)
            for cell in buffer.histogram.cells where cell.level == 3 { refinedOctaves.insert(UInt64(cell.lowerNanoseconds.leadingZeroBitCount)) }
        }
        // Eleven slots (five level-3 octaves at most at a time), yet level 3 followed the
        // stream across the range: slots were reclaimed.
        XCTAssertGreaterThan(refinedOctaves.count, 10)
    }

    func testLeavesAreContiguousAndCoverEverything() throws {
        for seed in UInt64(100)...140 {
            let buffer = try HistogramBuffer(bytes: tieredBudgets[Int(seed) % tieredBudgets.count])
            buffer.histogram.record(TestStream.values(seed: seed, count: 10_000))
            let leaves = buffer.histogram.cells.filter(\.isLeaf)
            XCTAssertEqual(leaves.first?.lowerNanoseconds, 0)
            XCTAssertEqual(leaves.last?.upperNanoseconds, .max)
            for (left, right) in zip(leaves, leaves.dropFirst()) {
                XCTAssertEqual(left.upperNanoseconds, right.lowerNanoseconds, "seed \(seed)")
                XCTAssertLessThan(left.lowerNanoseconds, left.upperNanoseconds)
            }
        }
    }

    func testReportedBoundHoldsAgainstExactQuantiles() throws {
        var random = SplitMix64(state: 7)
        for seed in UInt64(200)...260 {
            let buffer = try HistogramBuffer(bytes: budgets[Int(seed) % budgets.count])
            let values = TestStream.values(seed: seed, count: 1 + random.below(30_000))
            buffer.histogram.record(values)
            let sorted = values.sorted()
            let worst = buffer.histogram.relativeErrorBound
            var quantiles = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1]
            for _ in 0..<20 { quantiles.append(random.unit()) }
            for q in quantiles {
                let estimate = try buffer.histogram.quantile(q)
                let exact = exactQuantile(sorted, q)
                XCTAssertLessThanOrEqual(estimate.lowerNanoseconds, exact, "seed \(seed) q \(q)")
                XCTAssertGreaterThanOrEqual(estimate.upperNanoseconds, exact, "seed \(seed) q \(q)")
                if exact > 0 {
                    let error = abs(estimate.nanoseconds - Double(exact)) / Double(exact)
                    XCTAssertLessThanOrEqual(error, estimate.relativeErrorBound * (1 + 1e-9) + 1e-12, "seed \(seed) q \(q)")
                }
                XCTAssertLessThanOrEqual(estimate.relativeErrorBound, worst * (1 + 1e-12) + 1e-15, "seed \(seed) q \(q)")
            }
        }
    }

    /// Below one adaptation window the layouts cannot diverge: histograms cut from the
    /// same layout then merge exactly into the histogram of the union. (The compact
    /// layout's own version of this is in `CompactHistogramTests`.)
    func testMergeEqualsUnionWhenLayoutsAgree() throws {
        var random = SplitMix64(state: 11)
        for seed in UInt64(300)...340 {
            let template = try HistogramBuffer(bytes: tieredBudgets[Int(seed) % tieredBudgets.count])
            template.histogram.record(TestStream.values(seed: seed, count: 20_000))
            let stream = TestStream.values(seed: seed + 1_000, count: 500)
            let cut = random.below(stream.count)
            let (left, right, union) = try (copyLayout(template), copyLayout(template), copyLayout(template))
            left.histogram.record(Array(stream[..<cut]))
            right.histogram.record(Array(stream[cut...]))
            union.histogram.record(stream)
            XCTAssertTrue(try left.histogram.merge(right.histogram), "seed \(seed)")
            XCTAssertEqual(ranges(left.histogram), ranges(union.histogram), "seed \(seed)")
            XCTAssertEqual(left.histogram.count, union.histogram.count)
            XCTAssertEqual(left.histogram.minimumNanoseconds, union.histogram.minimumNanoseconds)
            XCTAssertEqual(left.histogram.maximumNanoseconds, union.histogram.maximumNanoseconds)
        }
    }

    /// Layouts that differ but fit one histogram together merge exactly: every count of
    /// either stays in a cell of its own range (a merge keeping one side's layout would
    /// move the other's fine counts into residuals).
    func testDifferentLayoutsThatFitTogetherMergeExactly() throws {
        var merged = 0
        for seed in UInt64(500)...520 {
            var random = SplitMix64(state: seed)
            let median = 1e4 * pow(10, random.unit() * 3)
            let left = try HistogramBuffer(bytes: 4096), right = try HistogramBuffer(bytes: 4096)
            left.histogram.record((0..<20_000).map { _ in random.logNormal(median: median, sigma: 0.15) })
            right.histogram.record((0..<20_000).map { _ in random.logNormal(median: median * 300, sigma: 0.15) })
            let groups = refinements(left.histogram).union(refinements(right.histogram))
            guard groups.count <= (4096 - 208) / 68 else { continue }
            merged += 1
            let expected = ranges(left.histogram).merging(ranges(right.histogram), uniquingKeysWith: +)
            XCTAssertTrue(try left.histogram.merge(right.histogram), "seed \(seed)")
            XCTAssertEqual(ranges(left.histogram), expected, "seed \(seed)")
            XCTAssertEqual(refinements(left.histogram), groups, "seed \(seed)")
        }
        XCTAssertGreaterThan(merged, 10, "too few seeds whose layouts fit together")
    }

    /// The server's cumulative histogram is the merge of its flush windows, each from a
    /// live histogram reset per window whose layout follows that window's quantiles.
    /// When the distribution steps, the cumulative keeps the refinements around its own
    /// quantiles: p99.9 stays at level-3 resolution (keeping only the first window's
    /// layout, it carried a level-1 bound of 33 %).
    func testCumulativeOfFlushWindowsKeepsItsQuantilesResolved() throws {
        var random = SplitMix64(state: 41)
        let values = (0..<400_000).map { random.logNormal(median: $0 < 200_000 ? 2e6 : 8e6, sigma: 0.5) }
        let cumulative = try flushedAndMerged(values, bytes: 2048)
        let sorted = values.sorted()
        for q in [0.5, 0.9, 0.99, 0.999] {
            let estimate = try cumulative.histogram.quantile(q)
            XCTAssertTrue((estimate.lowerNanoseconds...estimate.upperNanoseconds).contains(exactQuantile(sorted, q)), "q \(q)")
        }
        XCTAssertLessThan(try cumulative.histogram.quantile(0.999).relativeErrorBound, 0.01)
    }

    /// A stationary heavy tail in flush windows: each window's p99.9 rests on 25 values and
    /// scatters, but the windows also refine where p99 and p99.9 usually fall (the tail
    /// hints carried across resets), so the merged p99.9 and every window's stay at
    /// level-3 resolution.
    func testWindowsRefineWhereTheTailUsuallyIs() throws {
        var random = SplitMix64(state: 43)
        let values = (0..<300_000).map { _ in random.logNormal(median: 1e6, sigma: 1) }
        var windowBounds: [Double] = []
        let cumulative = try flushedAndMerged(values, bytes: 2048) { window in
            windowBounds.append(try window.quantile(0.999).relativeErrorBound)
        }
        let merged = try cumulative.histogram.quantile(0.999)
        XCTAssertTrue((merged.lowerNanoseconds...merged.upperNanoseconds).contains(exactQuantile(values.sorted(), 0.999)))
        XCTAssertLessThan(merged.relativeErrorBound, 0.01)
        XCTAssertLessThan(windowBounds.dropFirst(2).max() ?? 1, 0.01, "\(windowBounds)")
    }

    /// Different layouts: counts are conserved and the bound still holds for the union.
    func testMergeOfDifferentLayoutsKeepsTheBound() throws {
        for seed in UInt64(400)...430 {
            let first = TestStream.values(seed: seed, count: 15_000)
            let second = TestStream.values(seed: seed + 7, count: 15_000)
            // Within one layout family: tiered with tiered, compact with compact.
            let family = seed % 2 == 0 ? tieredBudgets : [328, 512, 777, 1000]
            let left = try HistogramBuffer(bytes: family[Int(seed) % family.count])
            let right = try HistogramBuffer(bytes: family[Int(seed + 1) % family.count])
            left.histogram.record(first)
            right.histogram.record(second)
            try left.histogram.merge(right.histogram)
            try assertConsistent(left.histogram, recorded: first.count + second.count, seed: seed)
            let sorted = (first + second).sorted()
            for q in [0.5, 0.9, 0.99, 0.999] {
                let estimate = try left.histogram.quantile(q)
                let exact = exactQuantile(sorted, q)
                XCTAssertTrue((estimate.lowerNanoseconds...estimate.upperNanoseconds).contains(exact), "seed \(seed) q \(q)")
            }
        }
    }

    func testEncodingRoundTripsAndUnknownVersionsThrow() throws {
        let buffer = try HistogramBuffer(bytes: 2048)
        buffer.histogram.record(TestStream.values(seed: 5, count: 30_000))
        let bytes = buffer.histogram.encoded
        XCTAssertEqual(bytes.first, 1)
        let decoded = try HistogramBuffer(decoding: bytes)
        XCTAssertEqual(decoded.histogram.cells, buffer.histogram.cells)
        XCTAssertEqual(try decoded.histogram.quantile(0.99), try buffer.histogram.quantile(0.99))
        for version: UInt8 in [0, 3, 255] {
            var future = bytes
            future[0] = version
            XCTAssertThrowsError(try HistogramBuffer(decoding: future)) {
                XCTAssertEqual($0 as? HistogramError, .unknownVersion(version))
            }
        }
        XCTAssertThrowsError(try HistogramBuffer(decoding: []))
        XCTAssertThrowsError(try HistogramBuffer(decoding: Array(bytes.prefix(100))))
        var lying = bytes
        lying[8] &+= 1   // the total no longer matches the counters
        XCTAssertThrowsError(try HistogramBuffer(decoding: lying))
    }

    /// Checks what every method relies on: the structure decodes, counters sum to the
    /// total, and the total is what was recorded.
    private func assertConsistent(_ histogram: LatencyHistogram, recorded: Int, seed: UInt64,
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(histogram.count, UInt64(recorded), "seed \(seed)", file: file, line: line)
        XCTAssertEqual(histogram.cells.reduce(0) { $0 + $1.count }, UInt64(recorded), "seed \(seed)", file: file, line: line)
        _ = try HistogramBuffer(decoding: histogram.encoded)
    }

    /// The server's cumulative histogram of `values`: a live histogram of `bytes` takes
    /// them in 25,000-value flush windows, each window's copy (seen by `window`) is merged
    /// into the cumulative one, and the live counts are reset.
    private func flushedAndMerged(_ values: [UInt64], bytes: Int,
                                  window: (LatencyHistogram) throws -> Void = { _ in }) throws -> HistogramBuffer {
        let live = try HistogramBuffer(bytes: bytes)
        var cumulative: HistogramBuffer?
        for start in stride(from: 0, to: values.count, by: 25_000) {
            live.histogram.record(Array(values[start..<min(start + 25_000, values.count)]))
            let copy = try HistogramBuffer(decoding: live.histogram.encoded)
            try window(copy.histogram)
            live.histogram.resetCounts()
            if let cumulative { try cumulative.histogram.merge(copy.histogram) } else { cumulative = copy }
        }
        return try XCTUnwrap(cumulative)
    }

    /// Each cell's range and count, whatever slots hold them.
    private func ranges(_ histogram: LatencyHistogram) -> [String: UInt64] {
        var ranges: [String: UInt64] = [:]
        for cell in histogram.cells where cell.count > 0 {
            ranges["\(cell.level) \(cell.lowerNanoseconds)-\(cell.upperNanoseconds)", default: 0] += cell.count
        }
        return ranges
    }

    /// The refined buckets: octaves with level 2, level-2 buckets with level 3.
    private func refinements(_ histogram: LatencyHistogram) -> Set<String> {
        Set(histogram.cells.filter { !$0.isLeaf && $0.level > 0 }.map { "\($0.level) \($0.lowerNanoseconds)" })
    }

    private func copyLayout(_ source: HistogramBuffer) throws -> HistogramBuffer {
        let copy = try HistogramBuffer(decoding: source.histogram.encoded)
        copy.histogram.resetCounts()
        return copy
    }
}
