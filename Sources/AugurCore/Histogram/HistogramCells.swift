/// One counted range of a histogram: a leaf bucket, a refined bucket's residual (what it
/// counted before it had children), or one of the two clamp ranges.
public struct HistogramCell: Equatable, Sendable {
    /// 0 for the clamp ranges (the compact layout: its cells below and above the array),
    /// else 1, 2 or 3 (the compact layout: 1).
    public let level: Int
    /// Lower bound, inclusive, in nanoseconds.
    public let lowerNanoseconds: UInt64
    /// Upper bound, exclusive; `UInt64.max` for the open clamp range above 2^42 ns.
    public let upperNanoseconds: UInt64
    public let count: UInt64
    /// False for a bucket that has children (its count is the residual).
    public let isLeaf: Bool

    let location: Location

    enum Location: Equatable, Sendable {
        case clampedLow, clampedHigh
        case octave(Int)
        case level2(slot: Int, bucket: Int)
        case level3(slot: Int, bucket: Int)
        case compact(Int)
    }
}

extension LatencyHistogram {
    /// Visits every cell in value order. With `parentsFirst` a refined bucket's residual
    /// comes before its children (cells sorted by lower bound), otherwise after them
    /// (sorted by upper bound): the two orders the quantile bounds need. Stops when
    /// `body` returns false. Allocates nothing.
    func forEachCell(parentsFirst: Bool, _ body: (HistogramCell) -> Bool) {
        typealias Layout = HistogramLayout
        if isCompact {
            forEachCompactCell(byLowerEdge: parentsFirst, body)
            return
        }
        guard body(HistogramCell(level: 0, lowerNanoseconds: 0, upperNanoseconds: Layout.lowEdge,
                                 count: UInt64(clampedLowCount), isLeaf: true, location: .clampedLow))
        else { return }
        for octave in 0..<Layout.octaveCount {
            let low = Layout.octaveLow(octave)
            let group = level2Slot(ofOctave: octave)
            let octaveCell = HistogramCell(level: 1, lowerNanoseconds: low, upperNanoseconds: low << 1,
                                           count: UInt64(octaveCount(octave)), isLeaf: group == nil,
                                           location: .octave(octave))
            guard let group else {
                if !body(octaveCell) { return }
                continue
            }
            if parentsFirst, !body(octaveCell) { return }
            let width2 = low >> UInt64(Layout.level2Shift)
            for bucket in 0..<Layout.level2Fanout {
                let low2 = low + UInt64(bucket) * width2
                let fine = level3Slot(under: group, bucket: bucket)
                let cell2 = HistogramCell(level: 2, lowerNanoseconds: low2, upperNanoseconds: low2 + width2,
                                          count: UInt64(counter(group, bucket)), isLeaf: fine == nil,
                                          location: .level2(slot: group, bucket: bucket))
                guard let fine else {
                    if !body(cell2) { return }
                    continue
                }
                if parentsFirst, !body(cell2) { return }
                let width3 = low >> UInt64(Layout.level3Shift)
                for sub in 0..<Layout.level3Fanout {
                    let low3 = low2 + UInt64(sub) * width3
                    let cell3 = HistogramCell(level: 3, lowerNanoseconds: low3, upperNanoseconds: low3 + width3,
                                              count: UInt64(counter(fine, sub)), isLeaf: true,
                                              location: .level3(slot: fine, bucket: sub))
                    if !body(cell3) { return }
                }
                if !parentsFirst, !body(cell2) { return }
            }
            if !parentsFirst, !body(octaveCell) { return }
        }
        _ = body(HistogramCell(level: 0, lowerNanoseconds: Layout.highEdge, upperNanoseconds: .max,
                               count: UInt64(clampedHighCount), isLeaf: true, location: .clampedHigh))
    }

    /// Every cell, residuals included, parents before children; for display and SQL.
    public var cells: [HistogramCell] {
        var cells: [HistogramCell] = []
        forEachCell(parentsFirst: true) { cells.append($0); return true }
        return cells
    }

    /// Halves every counter, rounding up so no non-empty cell empties, and sets the total
    /// to the new sum. Runs only when a counter would overflow.
    @usableFromInline
    func halveCounts() {
        var total: UInt64 = 0
        func halve(_ offset: Int) {
            let value: UInt32 = load(offset)
            let half = value / 2 + value % 2
            store(half, offset)
            total += UInt64(half)
        }
        if isCompact {
            halve(CompactLayout.belowCountOffset)
            halve(CompactLayout.aboveCountOffset)
            for offset in 0..<compactCounters { halve(compactCounterOffset(offset)) }
            store(total, HistogramLayout.totalOffset)
            return
        }
        halve(HistogramLayout.clampedLowOffset)
        halve(HistogramLayout.clampedHighOffset)
        for octave in 0..<HistogramLayout.octaveCount { halve(HistogramLayout.octaveCountsOffset + 4 * octave) }
        for slot in 0..<slotCount {
            switch slotKind(slot) {
            case .level2?:
                for bucket in 0..<HistogramLayout.level2Fanout {
                    halve(slotOffset(slot) + 4 * bucket)
                    resetDetector(slot, bucket)
                }
            case .level3?:
                for bucket in 0..<HistogramLayout.level3Fanout { halve(slotOffset(slot) + 4 * bucket) }
            case .free?, nil:
                break
            }
        }
        store(total, HistogramLayout.totalOffset)
    }
}
