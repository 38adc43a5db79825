import AugurCore
import Foundation

/// The distributions the streams draw from.
extension SplitMix64 {
    mutating func normal() -> Double { sqrt(-2 * log(unit())) * cos(2 * .pi * unit()) }
    /// exp(N(ln median, sigma)) nanoseconds.
    mutating func logNormal(median: Double, sigma: Double) -> UInt64 {
        nanoseconds(median * exp(sigma * normal()))
    }
    mutating func pareto(minimum: Double, alpha: Double) -> UInt64 {
        nanoseconds(minimum / pow(unit(), 1 / alpha))
    }
}

func nanoseconds(_ value: Double) -> UInt64 { value >= 1.8e19 ? .max : UInt64(max(value, 0)) }

/// The streams the properties are checked on: each picks its own shape from the seed.
enum TestStream {
    static func values(seed: UInt64, count: Int) -> [UInt64] {
        var random = SplitMix64(state: seed)
        let kind = random.below(5)
        let median = exp(log(2_000.0) + random.unit() * log(1e7))   // 2 µs … 20 s
        return (0..<count).map { index in
            switch kind {
            case 0: return random.logNormal(median: median, sigma: 1)
            case 1: return random.unit() < 0.8 ? random.logNormal(median: median, sigma: 0.2)
                                               : random.logNormal(median: median * 30, sigma: 0.3)
            case 2: return random.pareto(minimum: median, alpha: 1.2)
            case 3: return random.logNormal(median: index < count / 2 ? median : median * 7, sigma: 0.5)
            default: return random.next() >> UInt64(random.below(64))   // anything, clamps included
            }
        }
    }
}

/// The value of rank ⌈q·n⌉ (the histogram's definition).
func exactQuantile(_ sorted: [UInt64], _ q: Double) -> UInt64 {
    let scaled = (q * Double(sorted.count)).rounded(.up)
    let rank = scaled < 1 ? 1 : min(Int(scaled), sorted.count)
    return sorted[rank - 1]
}

extension LatencyHistogram {
    func record(_ values: [UInt64]) { for value in values { record(nanoseconds: value) } }
}
