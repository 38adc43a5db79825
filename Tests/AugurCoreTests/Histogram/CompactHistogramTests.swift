import AugurCore
import XCTest

/// The small-budget layout (under 1 KiB): every count where it belongs, bounds against
/// UDDSketch's at the same bucket count, merging and resetting.
final class CompactHistogramTests: XCTestCase {
    private let budgets = [328, 512, 777, 1000]

    /// Each cell holds no more values than the stream has in its range: a value is never
    /// counted in a bucket or a below/above cell that does not cover it. The array's
    /// buckets are ordered and disjoint.
    func testEveryCountLiesInItsCell() throws {
        for seed in UInt64(500)...540 {
            let buffer = try HistogramBuffer(bytes: budgets[Int(seed) % budgets.count])
            XCTAssertTrue(buffer.histogram.isCompact)
            let values = TestStream.values(seed: seed, count: 20_000).sorted()
            buffer.histogram.record(values.shuffledDeterministically(seed: seed))
            let cells = buffer.histogram.cells
            XCTAssertEqual(cells.reduce(0) { $0 + $1.count }, UInt64(values.count), "seed \(seed)")
            for cell in cells where cell.count > 0 {
                let inRange = values.partitioningIndex { $0 >= cell.upperNanoseconds }
                    - values.partitioningIndex { $0 >= cell.lowerNanoseconds }
                XCTAssertLessThanOrEqual(cell.count, UInt64(inRange), "seed \(seed) cell \(cell)")
            }
            let buckets = cells.filter { $0.level == 1 }
            for (left, right) in zip(buckets, buckets.dropFirst()) {
                XCTAssertLessThanOrEqual(left.upperNanoseconds, right.lowerNanoseconds, "seed \(seed)")
            }
        }
    }

    /// The goal for 512 bytes: the bound reported at p50, p90, p99 and p99.9 is no
    /// worse than UDDSketch's α with as many buckets, on a lognormal, a Pareto tail and a
    /// stream whose median steps 4×.
    func testBoundIsNoWorseThanUniformCollapseAtTheSameBucketCount() throws {
        var random = SplitMix64(state: 21)
        let half = (0..<100_000).map { _ in random.logNormal(median: 2e5, sigma: 1) }
        let streams: [(String, [UInt64])] = [
            ("lognormal", (0..<200_000).map { _ in random.logNormal(median: 1e6, sigma: 1) }),
            ("pareto", (0..<200_000).map { _ in random.pareto(minimum: 5e4, alpha: 1.2) }),
            ("step", half + half.map { $0 * 4 }),
        ]
        for (name, values) in streams {
            let buffer = try HistogramBuffer(bytes: 512)
            buffer.histogram.record(values)
            let alpha = uniformCollapseAlpha(values, buckets: buffer.histogram.bucketCapacity)
            for q in [0.5, 0.9, 0.99, 0.999] {
                XCTAssertLessThanOrEqual(try buffer.histogram.quantile(q).relativeErrorBound, alpha, "\(name) q \(q)")
            }
        }
    }

    /// A few far values in one input (within the above cell's n/2048 of the merged
    /// count) go to the above cell rather than collapsing the union: the merged p50 keeps
    /// the resolution of the input that holds the mass. Collapsing the union instead
    /// (the other placement, which wins when cells would overlap the array) doubles it.
    func testMergeMovesFarValuesToACellRatherThanCollapse() throws {
        var random = SplitMix64(state: 31)
        let bulk = try HistogramBuffer(bytes: 512), far = try HistogramBuffer(bytes: 512)
        bulk.histogram.record((0..<100_000).map { _ in random.logNormal(median: 1e6, sigma: 0.3) })
        far.histogram.record((0..<40).map { _ in random.logNormal(median: 3e9, sigma: 0.3) })
        let before = try bulk.histogram.quantile(0.5).relativeErrorBound
        let aboveBefore = try XCTUnwrap(bulk.histogram.cells.last).count
        XCTAssertFalse(try bulk.histogram.merge(far.histogram))
        XCTAssertEqual(bulk.histogram.count, 100_040)
        XCTAssertEqual(try bulk.histogram.quantile(0.5).relativeErrorBound, before, accuracy: 1e-12)
        let above = try XCTUnwrap(bulk.histogram.cells.last)
        XCTAssertEqual(above.level, 0)
        XCTAssertEqual(above.count, aboveBefore + 40)
        XCTAssertGreaterThan(try bulk.histogram.quantile(0.9999).upperNanoseconds, 1_000_000_000)
    }

    /// A far outlier early in a window (a Pareto tail's) goes to the above cell when the
    /// last window was long enough for the cell to hold it by the end, instead of
    /// collapsing the window for good; a fresh histogram, with no last window, collapses.
    func testAFarOutlierEarlyInAWindowDoesNotCollapseIt() throws {
        var random = SplitMix64(state: 37)
        func window(outlier: Bool) -> [UInt64] {
            (0..<5_000).map { index in index == 100 && outlier ? 10_000_000_000 : random.logNormal(median: 1e6, sigma: 0.5) }
        }
        let steady = try HistogramBuffer(bytes: 512), disturbed = try HistogramBuffer(bytes: 512)
        let first = window(outlier: false)
        steady.histogram.record(first)
        disturbed.histogram.record(first)
        steady.histogram.resetCounts()
        disturbed.histogram.resetCounts()
        let next = window(outlier: false)
        steady.histogram.record(next)
        disturbed.histogram.record(next.enumerated().map { $0.offset == 100 ? 10_000_000_000 : $0.element })
        XCTAssertEqual(try disturbed.histogram.quantile(0.5).relativeErrorBound,
                       try steady.histogram.quantile(0.5).relativeErrorBound, accuracy: 1e-12)
        XCTAssertEqual(disturbed.histogram.cells.last?.count, (steady.histogram.cells.last?.count ?? 0) + 1)
        XCTAssertEqual(try disturbed.histogram.quantile(1).upperNanoseconds, 10_000_000_000)

        let fresh = try HistogramBuffer(bytes: 512)
        fresh.histogram.record(window(outlier: true))
        XCTAssertGreaterThan(try fresh.histogram.quantile(0.5).relativeErrorBound,
                             try steady.histogram.quantile(0.5).relativeErrorBound)
    }

    /// Values that never leave the array (no collapse, no below or above cell): the
    /// merged histogram has exactly the buckets of the union's.
    func testMergeEqualsUnionWhileNothingCollapses() throws {
        var random = SplitMix64(state: 13)
        for _ in 0..<20 {
            let stream = (0..<2_000).map { _ in 1_000_000 + UInt64(random.below(20_000)) }
            let cut = 1 + random.below(stream.count - 1)
            let left = try HistogramBuffer(bytes: 512), right = try HistogramBuffer(bytes: 512)
            let union = try HistogramBuffer(bytes: 512)
            left.histogram.record(Array(stream[..<cut]))
            right.histogram.record(Array(stream[cut...]))
            union.histogram.record(stream)
            XCTAssertTrue(try left.histogram.merge(right.histogram))
            func ranges(_ buffer: HistogramBuffer) -> [[UInt64]] {
                buffer.histogram.cells.filter { $0.count > 0 }.map { [$0.lowerNanoseconds, $0.upperNanoseconds, $0.count] }
            }
            XCTAssertEqual(ranges(left), ranges(union))
            XCTAssertEqual(left.histogram.minimumNanoseconds, union.histogram.minimumNanoseconds)
            XCTAssertEqual(left.histogram.maximumNanoseconds, union.histogram.maximumNanoseconds)
        }
    }

    func testMergingATieredHistogramThrowsAndChangesNothing() throws {
        let compact = try HistogramBuffer(bytes: 512), tiered = try HistogramBuffer(bytes: 2048)
        compact.histogram.record(TestStream.values(seed: 1, count: 1_000))
        tiered.histogram.record(TestStream.values(seed: 2, count: 1_000))
        let before = compact.histogram.encoded
        XCTAssertThrowsError(try compact.histogram.merge(tiered.histogram)) {
            XCTAssertEqual($0 as? HistogramError, .layoutMismatch)
        }
        XCTAssertThrowsError(try tiered.histogram.merge(compact.histogram))
        XCTAssertEqual(compact.histogram.encoded, before)
    }

    /// Histograms that collapsed differently merge onto the coarser ladder: counts kept,
    /// the bound holds for the union, and the result says it was not exact.
    func testMergeOfDifferentLaddersKeepsTheBound() throws {
        var random = SplitMix64(state: 5)
        let narrow = (0..<5_000).map { _ in random.logNormal(median: 1e6, sigma: 0.05) }
        let wide = (0..<5_000).map { _ in random.logNormal(median: 1e6, sigma: 2) }
        let left = try HistogramBuffer(bytes: 512), right = try HistogramBuffer(bytes: 512)
        left.histogram.record(narrow)
        right.histogram.record(wide)
        XCTAssertFalse(try left.histogram.merge(right.histogram))
        XCTAssertEqual(left.histogram.count, 10_000)
        XCTAssertEqual(left.histogram.cells.reduce(0) { $0 + $1.count }, 10_000)
        let sorted = (narrow + wide).sorted()
        for q in [0.01, 0.5, 0.9, 0.99, 0.999] {
            let estimate = try left.histogram.quantile(q)
            XCTAssertTrue((estimate.lowerNanoseconds...estimate.upperNanoseconds).contains(exactQuantile(sorted, q)), "q \(q)")
        }
        _ = try HistogramBuffer(decoding: left.histogram.encoded)
    }

    /// A reset keeps the place of the values and tries one collapse finer: the next window
    /// of the same data is as fine as the last one was, not coarser.
    func testResetStartsTheNextWindowNoCoarser() throws {
        var random = SplitMix64(state: 8)
        let buffer = try HistogramBuffer(bytes: 512)
        var bounds: [Double] = []
        for _ in 0..<5 {
            buffer.histogram.record((0..<25_000).map { _ in random.logNormal(median: 3e6, sigma: 0.7) })
            bounds.append(try buffer.histogram.quantile(0.99).relativeErrorBound)
            buffer.histogram.resetCounts()
            XCTAssertEqual(buffer.histogram.count, 0)
            XCTAssertEqual(buffer.histogram.cells.reduce(0) { $0 + $1.count }, 0)
        }
        XCTAssertLessThanOrEqual(bounds.max() ?? 1, bounds[0] * (1 + 1e-9), "\(bounds)")
    }

    func testCorruptCompactBytesThrow() throws {
        let buffer = try HistogramBuffer(bytes: 512)
        buffer.histogram.record(TestStream.values(seed: 3, count: 2_000))
        let bytes = buffer.histogram.encoded
        XCTAssertEqual(bytes.first, 2)
        let decoded = try HistogramBuffer(decoding: bytes)
        XCTAssertEqual(decoded.histogram.cells, buffer.histogram.cells)
        var lying = bytes
        lying[8] &+= 1   // the total no longer matches the counters
        XCTAssertThrowsError(try HistogramBuffer(decoding: lying))
        var tooMany = bytes
        tooMany[2] = 0xFF   // more counters than the bytes hold
        XCTAssertThrowsError(try HistogramBuffer(decoding: tooMany))
        var collapsed = bytes
        collapsed[1] = 200
        XCTAssertThrowsError(try HistogramBuffer(decoding: collapsed))
    }

    /// UDDSketch (γ₀ = 1.002, buckets ⌈log_γ x⌉, every collapse squares γ): the α it ends
    /// with after seeing `values` with at most `buckets` buckets.
    private func uniformCollapseAlpha(_ values: [UInt64], buckets: Int) -> Double {
        var gamma = 1.002002002   // (1 + 0.001) / (1 − 0.001)
        while true {
            let distinct = Set(values.map { Int((log(Double(max($0, 1))) / log(gamma)).rounded(.up)) })
            if distinct.count <= buckets { return (gamma - 1) / (gamma + 1) }
            gamma *= gamma
        }
    }
}

private extension Array where Element == UInt64 {
    func partitioningIndex(where belongs: (UInt64) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    func shuffledDeterministically(seed: UInt64) -> [UInt64] {
        var random = SplitMix64(state: seed)
        var copy = self
        for index in copy.indices.reversed() where index > 0 { copy.swapAt(index, random.below(index + 1)) }
        return copy
    }
}
