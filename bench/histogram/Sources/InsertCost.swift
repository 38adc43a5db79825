import AugurCore
import Foundation
import Histogram

/// Time per `record` for Augur (2 KB, the tiered layout; 512 B, the compact one) and
/// HdrHistogram, in interleaved rounds (the order rotates) over the same pre-generated
/// values; medians over rounds.
enum InsertCost {
    struct Result {
        var augurNanoseconds: [Double] = []
        var compactNanoseconds: [Double] = []
        var hdrNanoseconds: [Double] = []
        /// malloc calls during Augur's timed batches; nil without the preloaded counter.
        var augurMallocs: Int?
        /// One clock read around each single record (clock cost included), sorted: the
        /// tail is the record that runs an adaptation pass, i.e. the spinlock hold time.
        var singleRecordNanoseconds: [Double] = []
    }

    private static func singleRecordLatencies(_ histogram: LatencyHistogram, _ values: [UInt64]) -> [Double] {
        var latencies = [Double](repeating: 0, count: values.count)
        var clock = timespec()
        for (index, value) in values.enumerated() {
            clock_gettime(CLOCK_MONOTONIC, &clock)
            let start = Int(clock.tv_sec) * 1_000_000_000 + clock.tv_nsec
            histogram.record(nanoseconds: value)
            clock_gettime(CLOCK_MONOTONIC, &clock)
            latencies[index] = Double(Int(clock.tv_sec) * 1_000_000_000 + clock.tv_nsec - start)
        }
        return latencies.sorted()
    }

    static func measure(rounds: Int = 21, valuesPerRound: Int = 1_000_000) throws -> Result {
        var random = SplitMix64(state: 42)
        let values = (0..<valuesPerRound).map { _ in random.logNormal(median: 1e6, sigma: 1) }
        var result = Result()
        let augur = try HistogramBuffer(bytes: 2048), compact = try HistogramBuffer(bytes: 512)
        var hdr = Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: 1 << 42,
                                    numberOfSignificantValueDigits: .two)
        // Warm both up (and let Augur settle its layout) before timing.
        for value in values {
            augur.histogram.record(nanoseconds: value)
            compact.histogram.record(nanoseconds: value)
            hdr.record(value)
        }
        for round in 0..<rounds {
            func timeAugur(_ buffer: HistogramBuffer) -> Double {
                let histogram = buffer.histogram
                let mallocsBefore = mallocCalls()
                let start = DispatchTime.now().uptimeNanoseconds
                for value in values { histogram.record(nanoseconds: value) }
                let elapsed = DispatchTime.now().uptimeNanoseconds - start
                if let before = mallocsBefore, let after = mallocCalls() {
                    result.augurMallocs = (result.augurMallocs ?? 0) + after - before
                }
                return Double(elapsed) / Double(values.count)
            }
            func timeHdr() {
                let start = DispatchTime.now().uptimeNanoseconds
                for value in values { hdr.record(value) }
                let elapsed = DispatchTime.now().uptimeNanoseconds - start
                result.hdrNanoseconds.append(Double(elapsed) / Double(values.count))
            }
            let runs = [{ result.augurNanoseconds.append(timeAugur(augur)) },
                        { result.compactNanoseconds.append(timeAugur(compact)) }, timeHdr]
            for index in 0..<runs.count { runs[(round + index) % runs.count]() }
        }
        result.singleRecordNanoseconds = singleRecordLatencies(augur.histogram, values)
        // Keep the work observable.
        if (try? augur.histogram.quantile(0.5))?.nanoseconds == -1 || compact.histogram.count == 0
            || hdr.totalCount == 0 { print("") }
        return result
    }

    /// The malloc call counter of `malloc_counter.c`, when it is preloaded.
    private static func mallocCalls() -> Int? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "augur_bench_malloc_calls") else { return nil }
        return Int(unsafeBitCast(symbol, to: (@convention(c) () -> Int).self)())
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
