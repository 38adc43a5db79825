import AugurCore
import Foundation

/// The distributions the streams draw from.
extension SplitMix64 {
    mutating func normal() -> Double { sqrt(-2 * log(unit())) * cos(2 * .pi * unit()) }
    mutating func logNormal(median: Double, sigma: Double) -> UInt64 { nanoseconds(median * exp(sigma * normal())) }
}

func nanoseconds(_ value: Double) -> UInt64 { value >= 1.8e19 ? .max : UInt64(max(value, 0).rounded()) }

/// The benchmark's streams, in nanoseconds. Each is seeded, so every run (and the
/// DDSketch script, which reads the files written from these) sees the same values.
enum Streams {
    static let count = 1_000_000

    static func synthetic(run: UInt64 = 0) -> [(name: String, values: [UInt64])] {
        [
            ("lognormal", generate(seed: 1 &+ run &* 0x1000) { r, _ in r.logNormal(median: 1e6, sigma: 1) }),
            ("bimodal", generate(seed: 2 &+ run &* 0x1000) { r, _ in
                r.unit() < 0.7 ? r.logNormal(median: 2e5, sigma: 0.3) : r.logNormal(median: 5e7, sigma: 0.5)
            }),
            ("pareto", generate(seed: 3 &+ run &* 0x1000) { r, _ in nanoseconds(1e5 / pow(r.unit(), 1 / 1.2)) }),
            ("step", generate(seed: 4 &+ run &* 0x1000) { r, i in r.logNormal(median: i < count / 2 ? 2e6 : 8e6, sigma: 0.5) }),
            ("loguniform", generate(seed: 5 &+ run &* 0x1000) { r, _ in nanoseconds(1e3 * pow(1e8, r.unit())) }),   // 1 µs … 100 s
        ]
    }

    private static func generate(seed: UInt64, _ draw: (inout SplitMix64, Int) -> UInt64) -> [UInt64] {
        var random = SplitMix64(state: seed)
        return (0..<count).map { draw(&random, $0) }
    }

    /// One integer (nanoseconds) per line.
    static func write(_ values: [UInt64], to path: String) throws {
        var text = ""
        text.reserveCapacity(values.count * 10)
        for value in values { text += "\(value)\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func read(_ path: String) throws -> [UInt64] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { UInt64($0) }
    }
}

/// The value of rank ⌈q·n⌉ (the definition every sketch is checked against).
func exactQuantile(_ sorted: [UInt64], _ q: Double) -> Double {
    let rank = max(1, min(Int((q * Double(sorted.count)).rounded(.up)), sorted.count))
    return Double(sorted[rank - 1])
}
