/// The byte layout of a latency histogram for small budgets, version 2: a dense array of
/// log buckets over the range the values occupy, with one cell below it and one above.
/// Chosen when a buffer holds under 1 KiB (`LatencyHistogram(formatting:capacity:)`):
/// there the tiered layout (version 1) spends a third of its counters on 33 fixed octaves
/// and has too few slots to follow moving tail quantiles (docs/histogram.md, "Small budgets").
///
///     offset  size  field
///          0     1  layout version (2)
///          1     1  collapses so far (k): each octave has `bucketsPerOctave(k)` buckets
///          2     2  counter count C
///          4     4  base: the ladder index of counter 0 (UInt32.max while nothing is placed)
///          8     8  total count
///         16     8  smallest value recorded (UInt64.max while empty)
///         24     8  largest value recorded
///         32     8  zero (the tiered layout's clamp counters: this one clamps nothing)
///         40     4  below-cell count: values under the below edge
///         44     4  above-cell count: values at or over the above edge, beyond the array
///         48     8  below edge (0: no below cell yet)
///         56     8  above edge (UInt64.max: no above cell yet)
///         64     4  top: the highest ladder index counted in the array
///         68     4  the last window's count (UInt32, saturating; 0 until the first reset)
///         72   4·C  counters (UInt32), counter i for ladder index base + i
///
/// The ladder: octave e (values in [2^e, 2^(e+1))) is cut at the mantissa bins where
/// ⌊1420·log2(mantissa)⌋ steps (`fineIndex`, 4096 bins, a table: no logarithm on the hot
/// path); after k collapses a bucket is 2^k of those steps (the octave's last bucket may
/// be narrower), so a collapse merges whole buckets and never blurs a count. 1420 steps
/// put 22 buckets in an octave after 6 collapses, 11 after 7, as UDDSketch's
/// γ = 1.002^(2^k) ladder has 21.6 and 10.8: a bucket is never wider than UDDSketch's at
/// the same collapse count. Bucket edges are mantissa bin starts, rounded up to whole
/// nanoseconds (values are whole nanoseconds, so every value of a bucket is in its range).
@usableFromInline
enum CompactLayout {
    @inlinable static var version: UInt8 { 2 }

    @inlinable static var collapsesOffset: Int { 1 }
    @inlinable static var counterCountOffset: Int { 2 }
    @inlinable static var baseOffset: Int { 4 }
    @inlinable static var belowCountOffset: Int { 40 }
    @inlinable static var aboveCountOffset: Int { 44 }
    @inlinable static var belowEdgeOffset: Int { 48 }
    @inlinable static var aboveEdgeOffset: Int { 56 }
    @inlinable static var topOffset: Int { 64 }
    @inlinable static var lastWindowOffset: Int { 68 }
    @inlinable static var headerSize: Int { 72 }
    @inlinable static var unplaced: UInt32 { .max }

    /// Buffers of this many bytes and more take the tiered layout.
    static let tieredFrom = 1024
    /// 64 counters span every octave of UInt64 after the last collapse, so collapsing
    /// always ends; a smaller buffer takes the tiered layout.
    static let minimumCounters = 64
    static var minimumBytes: Int { headerSize + 4 * minimumCounters }

    /// Whether a buffer of `capacity` bytes is formatted with this layout.
    static func isChosen(capacity: Int) -> Bool { capacity >= minimumBytes && capacity < tieredFrom }

    static func counterCount(capacity: Int) -> Int { min((capacity - headerSize) / 4, Int(UInt16.max)) }

    // MARK: The ladder

    @inlinable static var fineSteps: Int { 1420 }
    @inlinable static var mantissaBits: Int { 12 }
    /// Collapses after which an octave is one bucket: the last one possible.
    @inlinable static var maxCollapses: Int { 11 }

    /// For each of the 4096 mantissa bins, ⌊1420·log2(1 + bin/4096)⌋, built once by
    /// stepping through 2^(j/1420) (IEEE products: the same table on every machine).
    @usableFromInline static let fineIndex: [UInt16] = {
        let step = 1.0004882509730184   // 2^(1/1420)
        var table = [UInt16](repeating: 0, count: 1 << 12)
        var fine = 0, nextEdge = step
        for bin in 0..<table.count {
            let mantissa = 1 + Double(bin) / Double(table.count)
            while fine + 1 < fineSteps, mantissa >= nextEdge {
                fine += 1
                nextEdge *= step
            }
            table[bin] = UInt16(fine)
        }
        return table
    }()

    /// The table's last entry is fineSteps − 1 (1 + 4095/4096 is just under 2).
    @inlinable static func bucketsPerOctave(_ collapses: Int) -> Int { ((fineSteps - 1) >> collapses) + 1 }

    /// The ladder index of `value` (≥ 1) after `collapses` collapses.
    @inlinable
    static func index(of value: UInt64, collapses: Int) -> Int {
        let octave = 63 - value.leadingZeroBitCount
        let bin = octave >= mantissaBits
            ? Int(truncatingIfNeeded: value >> UInt64(octave - mantissaBits)) & 0xFFF
            : Int(truncatingIfNeeded: value << UInt64(mantissaBits - octave)) & 0xFFF
        return octave * bucketsPerOctave(collapses) + Int(fineIndex[bin]) >> collapses
    }

    /// The index `index` has after one more collapse.
    static func coarser(_ index: Int, collapses: Int) -> Int {
        let perOctave = bucketsPerOctave(collapses)
        return index / perOctave * bucketsPerOctave(collapses + 1) + index % perOctave / 2
    }

    /// The lowest whole nanosecond of ladder bucket `index` (UInt64.max past the top).
    static func lowerEdge(_ index: Int, collapses: Int) -> UInt64 {
        let perOctave = bucketsPerOctave(collapses)
        let octave = index / perOctave, bucket = index % perOctave
        guard octave < 64 else { return .max }
        // The first mantissa bin of the bucket (the table is nondecreasing).
        var low = 0, high = 1 << mantissaBits
        while low < high {
            let middle = (low + high) / 2
            if Int(fineIndex[middle]) >> collapses >= bucket { high = middle } else { low = middle + 1 }
        }
        let bin = UInt64((1 << mantissaBits) + low)
        return octave >= mantissaBits
            ? bin << UInt64(octave - mantissaBits)
            : (bin << UInt64(octave) + (1 << UInt64(mantissaBits)) - 1) >> UInt64(mantissaBits)
    }

    /// The first whole nanosecond past bucket `index` (UInt64.max for the last octave's top).
    static func upperEdge(_ index: Int, collapses: Int) -> UInt64 {
        let next = index + 1, perOctave = bucketsPerOctave(collapses)
        if next % perOctave == 0 {
            let octave = next / perOctave
            return octave >= 64 ? .max : 1 << UInt64(octave)
        }
        return lowerEdge(next, collapses: collapses)
    }
}
