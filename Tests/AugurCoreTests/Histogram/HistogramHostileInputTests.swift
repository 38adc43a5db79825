import AugurCore
import XCTest

/// A histogram runs inside a server process: no input may trap it.
final class HistogramHostileInputTests: XCTestCase {
    func testAnyValueIsCountedSomewhere() throws {
        for bytes in [2048, 512] {
            try assertHostileValuesCounted(try HistogramBuffer(bytes: bytes))
        }
    }

    private func assertHostileValuesCounted(_ buffer: HistogramBuffer) throws {
        let hostile: [UInt64] = [0, 1, 511, 512, 513, 1 << 42 - 1, 1 << 42, .max, .max - 1, 1 << 63]
        buffer.histogram.record(hostile)
        for micros in [Double.nan, .infinity, -.infinity, -1, -0.0, 0, .leastNonzeroMagnitude,
                       .greatestFiniteMagnitude, 1e300, 0.5, 1] {
            buffer.histogram.record(microseconds: micros)
        }
        XCTAssertEqual(buffer.histogram.count, UInt64(hostile.count + 11))
        XCTAssertEqual(buffer.histogram.cells.reduce(0) { $0 + $1.count }, buffer.histogram.count)
        XCTAssertEqual(buffer.histogram.minimumNanoseconds, 0)
        XCTAssertEqual(buffer.histogram.maximumNanoseconds, .max)
        if buffer.histogram.isCompact {
            // Nothing is clamped; the zeros are below every bucket.
            XCTAssertEqual(buffer.histogram.clampedLowCount, 0)
            XCTAssertGreaterThanOrEqual(buffer.histogram.cells.first?.count ?? 0, 5)
        } else {
            XCTAssertGreaterThan(buffer.histogram.clampedLowCount, 0)
            XCTAssertGreaterThan(buffer.histogram.clampedHighCount, 0)
        }
        for q in [0, 0.5, 1] { _ = try buffer.histogram.quantile(q) }
    }

    func testRandomBitsInEveryBudget() throws {
        var random = SplitMix64(state: 3)
        for bytes in [208, 209, 275, 276, 300, 512, 777, 2048, 20_000] {
            let buffer = try HistogramBuffer(bytes: bytes)
            for _ in 0..<50_000 { buffer.histogram.record(nanoseconds: random.next() >> UInt64(random.below(64))) }
            XCTAssertEqual(buffer.histogram.count, 50_000)
            XCTAssertEqual(buffer.histogram.cells.reduce(0) { $0 + $1.count }, 50_000)
            XCTAssertLessThanOrEqual(buffer.histogram.byteCount, bytes)
            _ = buffer.histogram.relativeErrorBound
        }
    }

    func testBuffersTooSmallOrMisalignedAreRefused() throws {
        for bytes in [-1, 0, 1, 100, 207] {
            XCTAssertThrowsError(try HistogramBuffer(bytes: bytes)) {
                XCTAssertEqual($0 as? HistogramError, .bufferTooSmall(bytes: bytes, minimum: 208))
            }
        }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: 600, alignment: 8)
        defer { memory.deallocate() }
        XCTAssertThrowsError(try LatencyHistogram(formatting: memory + 4, capacity: 512)) {
            XCTAssertEqual($0 as? HistogramError, .misaligned)
        }
        XCTAssertNil(LatencyHistogram(formattedAt: memory + 4))
        memory.storeBytes(of: 9, as: UInt8.self)
        XCTAssertNil(LatencyHistogram(formattedAt: memory))
        let formatted = try LatencyHistogram(formatting: memory, capacity: 600)
        formatted.record(nanoseconds: 5_000)
        XCTAssertEqual(LatencyHistogram(formattedAt: memory)?.count, 1)
    }

    func testQuantilesOfNothingOrNonsenseThrow() throws {
        let buffer = try HistogramBuffer(bytes: 512)
        XCTAssertThrowsError(try buffer.histogram.quantile(0.5)) { XCTAssertEqual($0 as? HistogramError, .empty) }
        buffer.histogram.record(nanoseconds: 1_000)
        for q in [Double.nan, -0.1, 1.1, .infinity] {
            XCTAssertThrowsError(try buffer.histogram.quantile(q))
        }
        XCTAssertEqual(buffer.histogram.relativeErrorBound, 0)   // one value: min = max
    }

    /// Random bytes behind a valid version byte either decode into something usable or
    /// throw; they never reach a method that reads out of bounds.
    func testGarbageDecodesOrThrows() throws {
        var random = SplitMix64(state: 17)
        let good = try HistogramBuffer(bytes: 1024)
        good.histogram.record(TestStream.values(seed: 1, count: 5_000))
        for _ in 0..<5_000 {
            var bytes = good.histogram.encoded
            for _ in 0..<1 + random.below(4) {
                bytes[random.below(bytes.count)] = UInt8(truncatingIfNeeded: random.next())
            }
            bytes[0] = 1
            guard let decoded = try? HistogramBuffer(decoding: bytes) else { continue }
            decoded.histogram.record(nanoseconds: random.next() >> 20)
            _ = try decoded.histogram.quantile(random.unit())
            _ = try decoded.histogram.merge(good.histogram)
        }
    }

    /// A counter about to overflow halves the histogram instead of wrapping.
    func testCounterOverflowHalvesAndConserves() throws {
        let buffer = try HistogramBuffer(bytes: 2048)
        buffer.histogram.record(nanoseconds: 100)   // one clamped-low value
        var bytes = buffer.histogram.encoded
        let nearlyFull = UInt32.max - 1
        withUnsafeBytes(of: nearlyFull.littleEndian) { bytes.replaceSubrange(32..<36, with: $0) }
        withUnsafeBytes(of: UInt64(nearlyFull).littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
        let full = try HistogramBuffer(decoding: bytes)
        for _ in 0..<3 { full.histogram.record(nanoseconds: 100) }
        XCTAssertEqual(full.histogram.clampedLowCount, UInt32.max / 2 + 3)
        XCTAssertEqual(full.histogram.count, UInt64(full.histogram.clampedLowCount))
        XCTAssertThrowsError(try full.histogram.merge(full.histogram)) {
            XCTAssertEqual($0 as? HistogramError, .countOverflow)
        }
    }

    /// The compact layout halves too: its below cell (bytes 40–43) about to overflow.
    func testCompactCounterOverflowHalvesAndConserves() throws {
        let buffer = try HistogramBuffer(bytes: 512)
        buffer.histogram.record(nanoseconds: 0)
        buffer.histogram.record(nanoseconds: 5_000)
        var bytes = buffer.histogram.encoded
        let nearlyFull = UInt32.max - 1
        withUnsafeBytes(of: nearlyFull.littleEndian) { bytes.replaceSubrange(40..<44, with: $0) }
        withUnsafeBytes(of: UInt64(nearlyFull) + 1) { bytes.replaceSubrange(8..<16, with: $0) }
        let full = try HistogramBuffer(decoding: bytes)
        for _ in 0..<3 { full.histogram.record(nanoseconds: 0) }
        XCTAssertEqual(full.histogram.cells.first?.count, UInt64(UInt32.max / 2 + 3))
        XCTAssertEqual(full.histogram.count, full.histogram.cells.reduce(0) { $0 + $1.count })
        XCTAssertThrowsError(try full.histogram.merge(full.histogram)) {
            XCTAssertEqual($0 as? HistogramError, .countOverflow)
        }
    }
}
