/// The small-budget histogram (`CompactLayout`): recording, collapsing, cells, merging.
///
/// The array of C counters covers C consecutive ladder buckets. A value beyond it goes,
/// in this order of preference:
/// - above: to the above cell, while that holds at most n/2048 of the values (so p99.9
///   stays in the array); below: to the below cell, while it holds at most n/64;
/// - above, when the above cell is full: the array slides up, its lowest buckets joining
///   the below cell, as long as that stays within n/64;
/// - below: the array slides down if its highest counted bucket still fits;
/// - else the array collapses: each pair of neighbouring buckets becomes one (exactly:
///   the ladder nests), doubling the range it covers, as UDDSketch's uniform collapse does.
/// So the counters are spent on the range between about p1.6 and p99.95, where the asked
/// quantiles lie, and a bucket is never wider than UDDSketch's at the same collapse count.
/// The below cell is [0, below edge), the above cell [above edge, ∞): each may overlap
/// array buckets (a collapse or a slide moves the array under them), which the bounds
/// allow, as for a residual; counts are never guessed into a bucket.
extension LatencyHistogram {
    @usableFromInline typealias Compact = CompactLayout

    init(formattingCompact base: UnsafeMutableRawPointer, capacity: Int) {
        let counters = Compact.counterCount(capacity: capacity)
        self.base = base
        slotCount = 0
        compactCounters = counters
        base.initializeMemory(as: UInt8.self, repeating: 0, count: Compact.headerSize + 4 * counters)
        base.storeBytes(of: Compact.version, toByteOffset: HistogramLayout.versionOffset, as: UInt8.self)
        base.storeBytes(of: UInt16(counters), toByteOffset: Compact.counterCountOffset, as: UInt16.self)
        base.storeBytes(of: Compact.unplaced, toByteOffset: Compact.baseOffset, as: UInt32.self)
        base.storeBytes(of: UInt64.max, toByteOffset: HistogramLayout.minOffset, as: UInt64.self)
        base.storeBytes(of: UInt64.max, toByteOffset: Compact.aboveEdgeOffset, as: UInt64.self)
    }

    @inlinable var collapses: Int { Int(load(Compact.collapsesOffset) as UInt8) }
    @inlinable var arrayBase: Int { Int(load(Compact.baseOffset) as UInt32) }
    var belowCount: UInt32 { load(Compact.belowCountOffset) }
    var aboveCount: UInt32 { load(Compact.aboveCountOffset) }
    @inlinable var belowEdge: UInt64 { load(Compact.belowEdgeOffset) }
    var aboveEdge: UInt64 { load(Compact.aboveEdgeOffset) }
    @inlinable func compactCounterOffset(_ index: Int) -> Int { Compact.headerSize + 4 * index }

    // MARK: Recording

    /// Counts one value (the total, minimum and maximum are the caller's). Allocates
    /// nothing; a slide or a collapse is a pass over the counters.
    @inlinable
    func recordCompact(_ value: UInt64) {
        guard value >= belowEdge, value > 0 else {
            // Zero has no place on the ladder: it is below everything.
            if value == 0 { store(max(belowEdge, 1), Compact.belowEdgeOffset) }
            increment(Compact.belowCountOffset)
            return
        }
        var placed = arrayBase
        if placed == Int(Compact.unplaced) {
            // The first value lands mid-array, so the range can grow either way.
            placed = max(0, Compact.index(of: value, collapses: collapses) - compactCounters / 2)
            store(UInt32(placed), Compact.baseOffset)
            store(UInt32(placed), Compact.topOffset)
        }
        let index = Compact.index(of: value, collapses: collapses)
        let offset = index - placed
        if offset >= 0, offset < compactCounters {
            increment(compactCounterOffset(offset))
            if index > Int(load(Compact.topOffset) as UInt32) { store(UInt32(index), Compact.topOffset) }
            return
        }
        placeOutside(value)
    }

    /// A value below or above the array (rare once the range is learnt).
    @usableFromInline
    func placeOutside(_ value: UInt64) {
        let n = count
        while true {
            let index = Compact.index(of: value, collapses: collapses)
            let first = arrayBase, top = Int(load(Compact.topOffset) as UInt32)
            if index >= first + compactCounters {
                if 2048 * (UInt64(aboveCount) + 1) <= n {
                    store(min(aboveEdge, Compact.lowerEdge(first + compactCounters, collapses: collapses)),
                          Compact.aboveEdgeOffset)
                    increment(Compact.aboveCountOffset)
                    return
                }
                let shift = min(compactCounters, index - (first + compactCounters) + 1)
                var moved = UInt64(belowCount)
                for offset in 0..<shift { moved += UInt64(load(compactCounterOffset(offset)) as UInt32) }
                if 64 * moved <= n, moved <= UInt64(UInt32.max) {
                    slideUp(by: shift, belowCountAfter: UInt32(moved))
                    continue
                }
            } else if index < first {
                if top - index < compactCounters {
                    slideDown(to: index)
                    continue
                }
                if 64 * (UInt64(belowCount) + 1) <= n {
                    store(max(belowEdge, Compact.lowerEdge(first, collapses: collapses)), Compact.belowEdgeOffset)
                    increment(Compact.belowCountOffset)
                    return
                }
            } else {
                increment(compactCounterOffset(index - first))
                if index > top { store(UInt32(index), Compact.topOffset) }
                return
            }
            guard collapses < Compact.maxCollapses else {
                // Unreachable: 64 counters span every octave after the last collapse.
                increment(Compact.aboveCountOffset)
                return
            }
            collapse()
        }
    }

    /// The lowest `shift` buckets join the below cell; the array moves up by `shift`.
    private func slideUp(by shift: Int, belowCountAfter: UInt32) {
        let counters = base.advanced(by: Compact.headerSize).assumingMemoryBound(to: UInt32.self)
        counters.update(from: counters + shift, count: compactCounters - shift)
        (counters + compactCounters - shift).update(repeating: 0, count: shift)
        let first = arrayBase + shift
        store(UInt32(first), Compact.baseOffset)
        store(UInt32(max(Int(load(Compact.topOffset) as UInt32), first)), Compact.topOffset)
        store(belowCountAfter, Compact.belowCountOffset)
        store(max(belowEdge, Compact.lowerEdge(first, collapses: collapses)), Compact.belowEdgeOffset)
    }

    /// The array moves down so that it starts at `first` (its top still fits).
    private func slideDown(to first: Int) {
        let shift = arrayBase - first
        let counters = base.advanced(by: Compact.headerSize).assumingMemoryBound(to: UInt32.self)
        (counters + shift).update(from: counters, count: compactCounters - shift)
        counters.update(repeating: 0, count: shift)
        store(UInt32(first), Compact.baseOffset)
    }

    /// Neighbouring buckets merge in pairs, in place (a bucket's new place is never after
    /// its old one, so an ascending pass reads each count before anything lands on it).
    private func collapse() {
        let k = collapses, first = arrayBase
        let newFirst = Compact.coarser(first, collapses: k)
        for offset in 0..<compactCounters {
            let value: UInt32 = load(compactCounterOffset(offset))
            guard value > 0 else { continue }
            store(UInt32(0), compactCounterOffset(offset))
            let target = compactCounterOffset(Compact.coarser(first + offset, collapses: k) - newFirst)
            store((load(target) as UInt32) + value, target)   // at most the total, which is 32-bit safe
        }
        store(UInt32(newFirst), Compact.baseOffset)
        store(UInt32(Compact.coarser(Int(load(Compact.topOffset) as UInt32), collapses: k)), Compact.topOffset)
        store(UInt8(k + 1), Compact.collapsesOffset)
    }

    /// Empties the counters and cells but keeps the ladder one collapse finer than it
    /// was, centred where the values were: a window starts as fine as the last one
    /// needed and collapses again only if this one needs it.
    func resetCompact() {
        var lowest = -1, highest = -1
        for offset in 0..<compactCounters where load(compactCounterOffset(offset)) as UInt32 > 0 {
            if lowest < 0 { lowest = offset }
            highest = offset
        }
        base.advanced(by: Compact.headerSize).initializeMemory(as: UInt8.self, repeating: 0, count: 4 * compactCounters)
        store(UInt32(0), Compact.belowCountOffset)
        store(UInt32(0), Compact.aboveCountOffset)
        store(UInt64(0), Compact.belowEdgeOffset)
        store(UInt64.max, Compact.aboveEdgeOffset)
        let k = collapses
        guard lowest >= 0 else { return }
        let finer = max(k - 1, 0)
        // The middle of what was counted, as an index on the finer ladder.
        let middle = Compact.lowerEdge(arrayBase + (lowest + highest) / 2, collapses: k)
        let centre = Compact.index(of: max(middle, 1), collapses: finer)
        let first = max(0, centre - compactCounters / 2)
        store(UInt8(finer), Compact.collapsesOffset)
        store(UInt32(first), Compact.baseOffset)
        store(UInt32(first), Compact.topOffset)
    }

    // MARK: Cells

    /// The below cell, the non-empty buckets and the above cell, in the order `forEachCell`
    /// promises (by lower edge, or by upper edge).
    func forEachCompactCell(byLowerEdge: Bool, _ body: (HistogramCell) -> Bool) {
        let k = collapses, first = arrayBase
        let below = HistogramCell(level: 0, lowerNanoseconds: 0, upperNanoseconds: belowEdge,
                                  count: UInt64(belowCount), isLeaf: true, location: .clampedLow)
        let aboveLower = aboveEdge == .max && first != Int(Compact.unplaced)
            ? Compact.lowerEdge(first + compactCounters, collapses: k) : aboveEdge
        let above = HistogramCell(level: 0, lowerNanoseconds: aboveLower, upperNanoseconds: .max,
                                  count: UInt64(aboveCount), isLeaf: true, location: .clampedHigh)
        var belowPending = true, abovePending = true
        if byLowerEdge {
            guard body(below) else { return }
            belowPending = false
        }
        if first != Int(Compact.unplaced) {
            for offset in 0..<compactCounters {
                let value: UInt32 = load(compactCounterOffset(offset))
                guard value > 0 else { continue }
                let cell = HistogramCell(level: 1, lowerNanoseconds: Compact.lowerEdge(first + offset, collapses: k),
                                         upperNanoseconds: Compact.upperEdge(first + offset, collapses: k),
                                         count: UInt64(value), isLeaf: true, location: .compact(offset))
                if belowPending, cell.upperNanoseconds > below.upperNanoseconds {
                    guard body(below) else { return }
                    belowPending = false
                }
                if byLowerEdge, abovePending, cell.lowerNanoseconds >= above.lowerNanoseconds {
                    guard body(above) else { return }
                    abovePending = false
                }
                guard body(cell) else { return }
            }
        }
        if belowPending, !body(below) { return }
        if abovePending { _ = body(above) }
    }

    // MARK: Merging

    /// Adds `other`'s counts (also compact; the total, minimum and maximum are `merge`'s)
    /// into this histogram: both go to the coarser of the two
    /// ladders, then collapse further until the union of their arrays fits. The cells
    /// join: counts add, the below edge is the higher, the above edge the lower. Exact
    /// (true) when nothing had to collapse.
    func mergeCompact(_ other: LatencyHistogram) throws -> Bool {
        var k = max(collapses, other.collapses)
        func buckets(_ histogram: LatencyHistogram) -> [(index: Int, count: UInt64)] {
            guard histogram.arrayBase != Int(Compact.unplaced) else { return [] }
            return (0..<histogram.compactCounters).compactMap { offset in
                let value: UInt32 = histogram.load(histogram.compactCounterOffset(offset))
                guard value > 0 else { return nil }
                var index = histogram.arrayBase + offset
                for level in histogram.collapses..<k { index = Compact.coarser(index, collapses: level) }
                return (index, UInt64(value))
            }
        }
        var merged = buckets(self) + buckets(other)
        let exactLadder = collapses == other.collapses
        while let low = merged.map(\.index).min(), let high = merged.map(\.index).max(),
              high - low >= compactCounters, k < Compact.maxCollapses {
            merged = merged.map { (Compact.coarser($0.index, collapses: k), $0.count) }
            k += 1
        }
        var counts = [UInt64](repeating: 0, count: compactCounters)
        let first = merged.map(\.index).min() ?? arrayBase
        let below = UInt64(belowCount) + UInt64(other.belowCount)
        var above = UInt64(aboveCount) + UInt64(other.aboveCount)
        var aboveFrom = min(aboveEdge, other.aboveEdge)
        for (index, value) in merged {
            if index - first < compactCounters {
                counts[index - first] += value
            } else {   // unreachable: after the last collapse 64 counters span everything
                above += value
                aboveFrom = min(aboveFrom, Compact.lowerEdge(index, collapses: k))
            }
        }
        guard (counts + [below, above]).allSatisfy({ $0 <= UInt64(UInt32.max) }) else {
            throw HistogramError.countOverflow
        }
        for (offset, value) in counts.enumerated() { store(UInt32(value), compactCounterOffset(offset)) }
        store(UInt8(k), Compact.collapsesOffset)
        store(UInt32(first), Compact.baseOffset)
        store(UInt32(merged.map(\.index).max() ?? first), Compact.topOffset)
        store(UInt32(below), Compact.belowCountOffset)
        store(UInt32(above), Compact.aboveCountOffset)
        store(max(belowEdge, other.belowEdge), Compact.belowEdgeOffset)
        store(aboveFrom, Compact.aboveEdgeOffset)
        return exactLadder && k == collapses
    }

    // MARK: Validation

    func checkCompactStructure(capacity: Int) throws {
        guard Compact.headerSize + 4 * compactCounters <= capacity, compactCounters >= Compact.minimumCounters else {
            throw HistogramError.corrupt("\(compactCounters) counters do not fit in \(capacity) bytes")
        }
        guard collapses <= Compact.maxCollapses else { throw HistogramError.corrupt("\(collapses) collapses") }
        let first = arrayBase, top = Int(load(Compact.topOffset) as UInt32)
        let lastIndex = 64 * Compact.bucketsPerOctave(collapses)
        guard first == Int(Compact.unplaced) || (first <= top && top < first + compactCounters && top < lastIndex) else {
            throw HistogramError.corrupt("the array's base \(first) and top \(top) disagree")
        }
        var sum = UInt64(belowCount) + UInt64(aboveCount)
        for offset in 0..<compactCounters { sum += UInt64(load(compactCounterOffset(offset)) as UInt32) }
        guard sum == count else { throw HistogramError.corrupt("counters sum to \(sum), total says \(count)") }
        guard first != Int(Compact.unplaced) || sum == UInt64(belowCount) + UInt64(aboveCount) else {
            throw HistogramError.corrupt("counts in an array that was never placed")
        }
    }
}
