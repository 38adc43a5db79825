/// The small-budget histogram (`CompactLayout`): recording, collapsing, cells, merging.
///
/// The array of C counters covers C consecutive ladder buckets. A value beyond it goes,
/// in this order of preference:
/// - above: to the above cell, while that holds at most n/2048 of the values (so p99.9
///   stays in the array); below: to the below cell, while it holds at most n/64;
/// - above, when the above cell is full: the array slides up, its lowest buckets joining
///   the below cell, as long as that stays within n/64;
/// - below: the array slides down if its highest counted bucket still fits;
/// - above, an array's span or more: to the above cell while it would hold at most 1/2048
///   of the last window's count (a far outlier early in a window);
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
        guard value > 0 else {
            // Zero has no place on the ladder: it is below everything.
            store(max(belowEdge, 1), Compact.belowEdgeOffset)
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
            // A value an array's span or more above it, with the above cell full for the
            // values seen so far but not for as many as the last window had: a far
            // outlier early in a window. It would collapse the window for good, while by
            // the window's end the cell's share is back under n/2048 (if the window is as
            // long as the last one; if not, p99.9 reads the cell and says so in its bound).
            if index >= first + 2 * compactCounters,
               2048 * (UInt64(aboveCount) + 1) <= UInt64(load(Compact.lastWindowOffset) as UInt32) {
                store(min(aboveEdge, Compact.lowerEdge(first + compactCounters, collapses: collapses)),
                      Compact.aboveEdgeOffset)
                increment(Compact.aboveCountOffset)
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
    func resetCompact(windowCount: UInt64) {
        store(UInt32(min(windowCount, UInt64(UInt32.max))), Compact.lastWindowOffset)
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
    /// into this histogram. Both go to the coarser of the two ladders, then one of two
    /// placements, whichever leaves the tighter worst bound over p50, p90, p99 and p99.9:
    /// - the union of both arrays, collapsed until it fits; the cells only add up;
    /// - by the rule `record` follows: the highest buckets to the above cell while it
    ///   holds at most n/2048 of the merged values, the lowest to the below cell within
    ///   n/64, collapsing only if the rest does not fit. A cumulative histogram merged
    ///   from windows then spends its counters between about p1.6 and p99.95 of all of
    ///   them rather than over the union of every window's range, but cells that overlap
    ///   the array widen tail bounds: neither placement wins on every stream.
    /// The cells join: counts add, the below edge is the higher, the above edge the lower.
    /// Exact (true) when nothing collapsed or moved to a cell.
    func mergeCompact(_ other: LatencyHistogram) throws -> Bool {
        let bytes = byteCount
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 2 * bytes, alignment: 8)
        defer { scratch.deallocate() }
        var best: (exact: Bool, bound: Double, memory: UnsafeMutableRawPointer)?
        for (index, intoCells) in [false, true].enumerated() {
            let memory = scratch + index * bytes
            memory.copyMemory(from: base, byteCount: bytes)
            guard let candidate = LatencyHistogram(formattedAt: memory) else { throw HistogramError.corrupt("not a histogram") }
            let exact = try candidate.placeMerged(other, intoCells: intoCells)
            storeMergedSummary(of: other, into: candidate)   // so that the bounds compared are the merge's
            let q = Self.trackedQuantiles
            let bound = [q.0, q.1, q.2, q.3].map { (try? candidate.quantile($0).relativeErrorBound) ?? 1 }.max() ?? 1
            if let kept = best, !(bound < kept.bound) { continue }
            best = (exact, bound, memory)
        }
        guard let best else { return false }
        let counters = CompactLayout.belowCountOffset
        base.storeBytes(of: best.memory.load(fromByteOffset: CompactLayout.collapsesOffset, as: UInt8.self),
                        toByteOffset: CompactLayout.collapsesOffset, as: UInt8.self)
        base.storeBytes(of: best.memory.load(fromByteOffset: CompactLayout.baseOffset, as: UInt32.self),
                        toByteOffset: CompactLayout.baseOffset, as: UInt32.self)
        (base + counters).copyMemory(from: best.memory + counters, byteCount: bytes - counters)
        return best.exact
    }

    /// One placement of `mergeCompact` (see there), applied to this histogram's counters
    /// and cells.
    private func placeMerged(_ other: LatencyHistogram, intoCells: Bool) throws -> Bool {
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
        func combined(_ entries: [(index: Int, count: UInt64)]) -> [(index: Int, count: UInt64)] {
            Dictionary(entries.map { ($0.index, $0.count) }, uniquingKeysWith: +).sorted { $0.key < $1.key }
                .map { (index: $0.key, count: $0.value) }
        }
        let exactLadder = collapses == other.collapses
        let n = count + other.count
        var below = UInt64(belowCount) + UInt64(other.belowCount)
        var above = UInt64(aboveCount) + UInt64(other.aboveCount)
        var merged = combined(buckets(self) + buckets(other))
        func place() -> (first: Int, kept: Int)? {
            guard let lowest = merged.first?.index, let highest = merged.last?.index else { return (0, 0) }
            if intoCells {
                return Self.compactPlacement(of: merged, counters: compactCounters, total: n, below: below, above: above)
            }
            return highest - lowest < compactCounters ? (lowest, merged.count) : nil
        }
        var placement = place()
        while placement == nil, k < Compact.maxCollapses {
            merged = combined(merged.map { (Compact.coarser($0.index, collapses: k), $0.count) })
            k += 1
            placement = place()
        }
        // After the last collapse 64 counters span every value, so a placement exists.
        let (first, kept) = placement ?? (merged.first?.index ?? 0, merged.count)
        var counts = [UInt64](repeating: 0, count: compactCounters)
        var belowFrom = max(belowEdge, other.belowEdge), aboveFrom = min(aboveEdge, other.aboveEdge)
        var top = first, movedOut = false
        for (position, (index, value)) in merged.enumerated() {
            // Above the array: what `kept` leaves out (and, never reached but never trapping,
            // a bucket past the array after the last collapse, which spans every value).
            if position >= kept || index - first >= compactCounters {
                above += value
                aboveFrom = min(aboveFrom, Compact.lowerEdge(index, collapses: k))
                movedOut = true
            } else if index < first {
                below += value
                belowFrom = max(belowFrom, Compact.lowerEdge(first, collapses: k))
                movedOut = true
            } else {
                counts[index - first] += value
                top = index
            }
        }
        guard (counts + [below, above]).allSatisfy({ $0 <= UInt64(UInt32.max) }) else {
            throw HistogramError.countOverflow
        }
        for (offset, value) in counts.enumerated() { store(UInt32(value), compactCounterOffset(offset)) }
        store(UInt8(k), Compact.collapsesOffset)
        store(UInt32(merged.isEmpty ? arrayBase : first), Compact.baseOffset)
        store(UInt32(merged.isEmpty ? Int(load(Compact.topOffset) as UInt32) : top), Compact.topOffset)
        store(UInt32(below), Compact.belowCountOffset)
        store(UInt32(above), Compact.aboveCountOffset)
        store(belowFrom, Compact.belowEdgeOffset)
        store(aboveFrom, Compact.aboveEdgeOffset)
        return exactLadder && k == collapses && !movedOut
    }

    /// Where an array of `counters` buckets starts so that what lies below it fits the
    /// below cell (n/64 of the merged values, with the `below` it holds) and what lies
    /// above it the above cell (n/2048, with its `above`). The fewest buckets go above (a
    /// cell overlapping the array widens tail bounds; the below cell only touches p1.6):
    /// the array ends as high as the below cell allows. Returns its start and how many of
    /// `buckets` (ascending) stay out of the above cell, or nil if this ladder needs a
    /// collapse.
    private static func compactPlacement(of buckets: [(index: Int, count: UInt64)], counters: Int, total: UInt64,
                                         below: UInt64, above: UInt64) -> (first: Int, kept: Int)? {
        guard let lowest = buckets.first?.index else { return (0, 0) }
        var end = buckets.count, movedAbove = above
        while true {
            let first = max(lowest, buckets[end - 1].index - counters + 1)
            let under = buckets[..<end].prefix { $0.index < first }
            if under.isEmpty || 64 * under.reduce(below, { $0 + $1.count }) <= total { return (first, end) }
            guard end > 1, 2048 * (movedAbove + buckets[end - 1].count) <= total else { return nil }
            movedAbove += buckets[end - 1].count
            end -= 1
        }
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
