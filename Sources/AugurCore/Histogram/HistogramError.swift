/// Why a histogram could not be built, read or queried.
public enum HistogramError: Error, Equatable, Sendable {
    /// The buffer cannot hold even the header.
    case bufferTooSmall(bytes: Int, minimum: Int)
    /// Counters are read in place, so the buffer must be 8-byte aligned (palloc and
    /// shared memory are).
    case misaligned
    /// The bytes were written by a layout this library does not know.
    case unknownVersion(UInt8)
    /// The bytes claim a known version but break its invariants.
    case corrupt(String)
    case empty
    /// A quantile must lie in 0...1.
    case quantileOutOfRange(Double)
    /// Merging would overflow a 32-bit counter.
    case countOverflow
    /// A compact histogram and a tiered one cannot be merged.
    case layoutMismatch
}
