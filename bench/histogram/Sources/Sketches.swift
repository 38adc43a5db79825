import AugurCore
import Foundation
import Histogram

/// What the accuracy table asks of every sketch.
protocol QuantileSketch: AnyObject {
    var name: String { get }
    func record(_ nanoseconds: UInt64)
    func quantile(_ q: Double) -> Double
    var bytes: Int { get }
    /// The error bound the sketch itself reports for this quantile, if it reports one.
    func reportedBound(_ q: Double) -> Double?
}

final class AugurSketch: QuantileSketch {
    let name: String
    let buffer: HistogramBuffer
    init(bytes: Int) throws {
        name = "augur \(bytes) B"
        buffer = try HistogramBuffer(bytes: bytes)
    }
    func record(_ nanoseconds: UInt64) { buffer.histogram.record(nanoseconds: nanoseconds) }
    func quantile(_ q: Double) -> Double { (try? buffer.histogram.quantile(q).nanoseconds) ?? .nan }
    var bytes: Int { buffer.histogram.byteCount }
    func reportedBound(_ q: Double) -> Double? { try? buffer.histogram.quantile(q).relativeErrorBound }
    /// Counters a buffer of this size holds at most: 2 clamps, 33 octaves, 16 per slot.
    var counterCapacity: Int { buffer.histogram.bucketCapacity }
}

/// The server's cumulative histogram: values go to a live histogram whose counts are
/// copied out and reset every `window` values (a flush), and each copy is merged into
/// the cumulative one, as `HistogramFlush` does.
final class FlushedAugurSketch: QuantileSketch {
    let name: String
    private let live: HistogramBuffer
    private var cumulative: HistogramBuffer?
    private let window: Int
    private var pending = 0

    init(bytes: Int, window: Int) throws {
        name = "augur \(bytes) B, windows merged"
        live = try HistogramBuffer(bytes: bytes)
        self.window = window
    }

    func record(_ nanoseconds: UInt64) {
        live.histogram.record(nanoseconds: nanoseconds)
        pending += 1
        if pending == window { flush() }
    }

    private func flush() {
        guard pending > 0, let copy = try? HistogramBuffer(decoding: live.histogram.encoded) else { return }
        pending = 0
        live.histogram.resetCounts()
        if let cumulative { _ = try? cumulative.histogram.merge(copy.histogram) } else { cumulative = copy }
    }

    private func estimate(_ q: Double) -> QuantileEstimate? {
        flush()
        return try? cumulative?.histogram.quantile(q)
    }

    func quantile(_ q: Double) -> Double { estimate(q)?.nanoseconds ?? .nan }
    var bytes: Int { live.histogram.byteCount }
    func reportedBound(_ q: Double) -> Double? { estimate(q)?.relativeErrorBound }
}

final class HdrSketch: QuantileSketch {
    let name = "HdrHistogram 2 digits"
    var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: 1 << 42,
                                      numberOfSignificantValueDigits: .two)
    func record(_ nanoseconds: UInt64) { histogram.record(min(nanoseconds, 1 << 42)) }
    func quantile(_ q: Double) -> Double { Double(histogram.valueAtPercentile(q * 100)) }
    var bytes: Int { histogram.estimatedFootprintInBytes }
    func reportedBound(_ q: Double) -> Double? { nil }
}

/// pg_stat_monitor's response-time histogram: a fixed number of exponential buckets
/// between a minimum and a maximum (here 20 over 1 µs – 100 s), plus counts outside.
/// A quantile is the harmonic mean of its bucket's edges (the best point for a bucket).
final class ExponentialBucketsSketch: QuantileSketch {
    let name = "pg_stat_monitor 20 buckets"
    private let low = 1e3, high = 1e11, bucketCount = 20
    private var counts: [UInt64]
    init() { counts = [UInt64](repeating: 0, count: 22) }
    private var ratio: Double { pow(high / low, 1 / Double(bucketCount)) }
    func record(_ nanoseconds: UInt64) {
        let value = Double(nanoseconds)
        if value < low { counts[0] += 1 } else if value >= high { counts[21] += 1 } else {
            counts[1 + min(Int(log(value / low) / log(ratio)), bucketCount - 1)] += 1
        }
    }
    func quantile(_ q: Double) -> Double {
        let total = counts.reduce(0, +)
        let rank = max(1, UInt64((q * Double(total)).rounded(.up)))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() {
            seen += count
            guard seen >= rank else { continue }
            if index == 0 { return low }
            if index == 21 { return high }
            let l = low * pow(ratio, Double(index - 1)), u = l * ratio
            return 2 * l * u / (l + u)
        }
        return .nan
    }
    var bytes: Int { counts.count * 8 }
    func reportedBound(_ q: Double) -> Double? { (ratio - 1) / (ratio + 1) }
}

/// UDDSketch (Epicoco et al. 2020): DDSketch's log buckets, γ = (1+α)/(1−α), and when
/// more than `maxBuckets` are in use, a uniform collapse: γ ← γ², bucket i → ⌈i/2⌉.
final class UDDSketch: QuantileSketch {
    let name: String
    private let maxBuckets: Int
    private var gamma: Double
    private var buckets: [Int: UInt64] = [:]
    private var zeros: UInt64 = 0
    init(maxBuckets: Int, initialAlpha: Double = 0.001) {
        self.maxBuckets = maxBuckets
        name = "UDDSketch \(maxBuckets) buckets"
        gamma = (1 + initialAlpha) / (1 - initialAlpha)
    }
    var alpha: Double { (gamma - 1) / (gamma + 1) }
    func record(_ nanoseconds: UInt64) {
        guard nanoseconds > 0 else { zeros += 1; return }
        buckets[Int((log(Double(nanoseconds)) / log(gamma)).rounded(.up)), default: 0] += 1
        while buckets.count > maxBuckets { collapse() }
    }
    private func collapse() {
        var collapsed: [Int: UInt64] = [:]
        for (index, count) in buckets {
            collapsed[Int((Double(index) / 2).rounded(.up)), default: 0] += count
        }
        buckets = collapsed
        gamma *= gamma
    }
    func quantile(_ q: Double) -> Double {
        let total = buckets.values.reduce(zeros, +)
        let rank = max(1, UInt64((q * Double(total)).rounded(.up)))
        var seen = zeros
        if seen >= rank { return 0 }
        for (index, count) in buckets.sorted(by: { $0.key < $1.key }) {
            seen += count
            if seen >= rank { return 2 * pow(gamma, Double(index)) / (gamma + 1) }
        }
        return .nan
    }
    /// Index and count per bucket, 4 bytes each.
    var bytes: Int { maxBuckets * 8 }
    func reportedBound(_ q: Double) -> Double? { alpha }
}
