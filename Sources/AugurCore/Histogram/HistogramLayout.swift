/// The byte layout of a latency histogram, version 1. The buffer is owned by the caller
/// (PostgreSQL shared memory in the server, a heap buffer in tests), so this layout is
/// the histogram: the same bytes are what the worker persists and what `decode` reads.
///
///     offset  size  field
///          0     1  layout version (1)
///          1     1  slot count: how many 68-byte slots follow the header
///          2     2  reserved (zero)
///          4     2  records until the next adaptation pass
///          6     2  epoch: adaptation passes so far, wrapping (the clock of slot ages)
///          8     8  total count (every value recorded, clamped ones included)
///         16     8  smallest value recorded (UInt64.max while empty)
///         24     8  largest value recorded
///         32     4  values below 512 ns (clamped low)
///         36     4  values at or above 2^42 ns ≈ 73 min (clamped high)
///         40   132  level 1: 33 octave counters, UInt32
///        172    33  level 1: the slot refining each octave, plus one (0: none)
///        205     3  tail hints: two 9-bit level-2 bucket numbers plus one (0: none), where
///                   p99 and p99.9 usually fall, smoothed over windows (`TailHints`)
///        208  68·n  slots
///
/// A slot is a level-2 group (one octave cut into 8 linear buckets) or a level-3 group
/// (one level-2 bucket cut into 16 linear buckets):
///
///     level 2: 8 counters (UInt32) | 8 aux words (UInt32) | kind | octave   | last use (UInt16)
///     level 3: 16 counters (UInt32)                       | kind | l2 slot  | last use (UInt16)
///
/// A level-2 aux word is either `splitBit | level-3 slot`, or, while its bucket is a leaf,
/// the change detector's state: the low 16 bits of the bucket's count at the last pass
/// and the CUSUM score (bits 16–30, in values).
@usableFromInline
enum HistogramLayout {
    @inlinable static var version: UInt8 { 1 }

    // Value range: octaves [2^9, 2^10) … [2^41, 2^42) nanoseconds, 512 ns to 73 min.
    @inlinable static var lowestExponent: Int { 9 }
    @inlinable static var octaveCount: Int { 33 }
    @inlinable static var lowEdge: UInt64 { 1 << 9 }
    @inlinable static var highEdge: UInt64 { 1 << 42 }
    @inlinable static var level2Fanout: Int { 8 }
    @inlinable static var level3Fanout: Int { 16 }
    @inlinable static var level2Shift: Int { 3 }   // log2(level2Fanout)
    @inlinable static var level3Shift: Int { 7 }   // log2(level2Fanout · level3Fanout)

    // Header.
    @inlinable static var versionOffset: Int { 0 }
    @inlinable static var slotCountOffset: Int { 1 }
    @inlinable static var untilAdaptOffset: Int { 4 }
    @inlinable static var epochOffset: Int { 6 }
    @inlinable static var totalOffset: Int { 8 }
    @inlinable static var minOffset: Int { 16 }
    @inlinable static var maxOffset: Int { 24 }
    @inlinable static var clampedLowOffset: Int { 32 }
    @inlinable static var clampedHighOffset: Int { 36 }
    @inlinable static var octaveCountsOffset: Int { 40 }
    @inlinable static var octaveGroupsOffset: Int { 172 }
    @inlinable static var tailHintsOffset: Int { 205 }
    @inlinable static var headerSize: Int { 208 }

    // Slots.
    @inlinable static var slotSize: Int { 68 }
    @inlinable static var auxOffset: Int { 32 }
    @inlinable static var kindOffset: Int { 64 }
    @inlinable static var parentOffset: Int { 65 }
    @inlinable static var lastUseOffset: Int { 66 }
    /// Slot references are one byte; a bigger buffer simply leaves its tail unused.
    @inlinable static var maxSlots: Int { 255 }

    @inlinable static var splitBit: UInt32 { 1 << 31 }

    /// Values between adaptation passes: the change detector's window.
    @inlinable static var adaptInterval: UInt16 { 512 }
    /// Values until the next pass, given the count after this one: passes at 16, 32, 64,
    /// … 512 values, then every 512. Values counted before a bucket is refined stay in its
    /// residual for good, so a fresh histogram takes its first shape early.
    @inlinable static func adaptInterval(afterCount count: UInt64) -> UInt16 {
        count >= UInt64(adaptInterval) ? adaptInterval : UInt16(max(count, 16))
    }

    /// A buffer of `capacity` bytes holds this many slots.
    static func slotCount(capacity: Int) -> Int {
        guard capacity >= headerSize else { return 0 }
        return min((capacity - headerSize) / slotSize, maxSlots)
    }

    static func octaveLow(_ octave: Int) -> UInt64 { 1 << UInt64(octave + lowestExponent) }
}

/// What a slot holds: the low two bits of its kind byte; a level-3 group keeps the index
/// of the level-2 bucket it refines in bits 4–6.
enum SlotKind: UInt8 {
    case free = 0
    case level2 = 1
    case level3 = 2
}
