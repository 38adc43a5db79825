/// A streaming anomaly detector for one series, fed a value at a time: how unusual each
/// value is, as a score in [0, 1].
///
/// A value is anomalous as far as it is from the median of the last `window` values, in
/// units of their spread: the larger of their standard deviation and their median
/// absolute deviation (scaled to a normal's), so that a heavy-tailed series does not alarm
/// at every value its median absolute deviation finds far; the score is that distance as
/// a two-sided normal tail. A level
/// shift alarms at its first value when it is that large. After an alarm it keeps quiet
/// for a while: the same anomaly goes on, and each alarm more is one more for someone to
/// read. (A second view, the median of the last few values against the same yardstick,
/// alarmed on every smooth cycle: what a run of values may scatter assumes independent
/// noise, which metrics are not.) Memory: `window` doubles; cost per value: sorting them. Measured on the Numenta Anomaly Benchmark
/// (`bench/anomaly/nab.py`, docs/health.md): far from the best published detectors yet.
public struct AnomalyDetector: Sendable {
    public struct Parameters: Equatable, Sendable {
        /// Values a value is compared with.
        public var window = 1000
        /// Values before any score is given (0 until then).
        public var warmUp = 100
        /// Quiet after an alarm: at least this many values, and this share of those seen.
        public var quietValues = 120
        public var quietShare = 0.05
        /// The score that alarms (and starts the quiet).
        public var alarm = AnomalyDetector.alarmThreshold

        public init() {}
    }

    /// The score from which `augur.detect` calls a value an anomaly: the threshold that
    /// scored best on the Numenta Anomaly Benchmark (`bench/anomaly/nab.py`).
    public static let alarmThreshold = 0.999999

    public let parameters: Parameters
    private var values: RingBuffer
    private var seen = 0
    private var quietUntil = 0

    public init(_ parameters: Parameters = Parameters()) {
        self.parameters = parameters
        values = RingBuffer(capacity: max(parameters.window, 2))
    }

    /// The score of `value`, the next of the series (finite; the caller checks).
    public mutating func score(_ value: Double) -> Double {
        seen += 1
        defer { values.append(value) }
        guard values.count >= parameters.warmUp else { return 0 }
        let (center, spread) = Self.medianAndDeviation(values.elements)
        if seen <= quietUntil { return 0 }
        let score = 2 * Self.normalCDF(abs(value - center) / spread) - 1
        if score >= parameters.alarm {
            quietUntil = seen + max(parameters.quietValues, Int(Double(seen) * parameters.quietShare))
        }
        return score
    }

    /// Scores a whole series from its start.
    public static func scores(_ series: [Double], parameters: Parameters = Parameters()) -> [Double] {
        var detector = AnomalyDetector(parameters)
        return series.map { detector.score($0) }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The median, and the spread: the larger of the standard deviation and the median
    /// absolute deviation scaled to a normal's (never 0: a flat series still has a scale
    /// to be surprised in).
    static func medianAndDeviation(_ values: [Double]) -> (Double, Double) {
        let center = median(values)
        let mean = values.reduce(0, +) / Double(max(values.count, 1))
        let standard = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(values.count, 1))).squareRoot()
        let deviation = max(1.4826 * median(values.map { abs($0 - center) }), standard)
        let scale = max(abs(center) * 1e-3, 1e-9)
        return (center, max(deviation, scale))
    }

    /// Φ(z), from the complementary error function (Abramowitz & Stegun 7.1.26).
    public static func normalCDF(_ z: Double) -> Double {
        guard z.isFinite, abs(z) < 30 else { return z > 0 ? 1 : 0 }
        let x = abs(z) / 2.0.squareRoot()
        let t = 1 / (1 + 0.3275911 * x)
        let polynomial = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
        let erfc = polynomial * exp2(-x * x * 1.4426950408889634)
        return z >= 0 ? 1 - erfc / 2 : erfc / 2
    }
}

/// The last `capacity` values appended, oldest first.
struct RingBuffer: Sendable {
    private var storage: [Double]
    private var start = 0
    private(set) var count = 0

    init(capacity: Int) {
        storage = [Double](repeating: 0, count: capacity)
    }

    mutating func append(_ value: Double) {
        if count < storage.count {
            storage[(start + count) % storage.count] = value
            count += 1
        } else {
            storage[start] = value
            start = (start + 1) % storage.count
        }
    }

    var elements: [Double] {
        (0..<count).map { storage[(start + $0) % storage.count] }
    }
}
