/// How a histogram decides where to refine and what to give back (runs every
/// `HistogramLayout.adaptInterval` values, from `record`; no allocation).
///
/// Refinement triggers, strongest first:
/// 1. Quantile pinning: the leaves holding p50, p90, p99 and p99.9 are refined until they
///    are level 3. Tail quantiles sit where there is little mass, so no mass detector
///    would ever refine them, yet they are what users ask for. A quantile is pinned
///    once at least 8 values lie above it (before that its place is noise). Breadth
///    first: all tracked quantiles get level 2 before any gets level 3. The buckets
///    either side of a pinned one (across an octave edge) are refined next: a quantile
///    near an edge crosses it as values arrive, and a bucket refined only then carries a
///    residual that widens the bound. So are the octaves either side of its octave, to
///    level 2, for a quantile that moves by more than a bucket. The buckets of the tail
///    hints (where p99 and p99.9 usually fall, `TailHints`) are pinned the same way, and
///    a rank in a refined octave's residual pins the bucket it most likely falls in.
/// 2. Change detection: a one-sided CUSUM per level-2 leaf over its share of each window,
///    S ← max(0, S + hits − k), flags a sustained shift of mass into the leaf or a
///    concentration that its 1/8-octave resolution blurs (share above k/512 for long
///    enough that S exceeds h).
/// 3. Concentration at level 1: an unrefined octave holding ≥ 1/32 of all values.
///
/// When no slot is free, and the histogram holds at least `evictionMinimum` values, a
/// childless group is merged back into its parent (its counts become the parent's
/// residual): the one idle longest, if one has caught nothing for `staleAge` passes,
/// else the one holding the fewest values. Groups holding a tracked quantile are never
/// taken, but for a level-3 group by a tracked quantile whose octave has no group; their
/// neighbours (buckets and octaves) only by a tracked quantile. A detector-driven refinement may
/// take a group that is still active only if that group holds under half the values of
/// the bucket to be refined, so two candidates cannot take a slot from each other back
/// and forth.
extension LatencyHistogram {
    /// CUSUM reference k and threshold h, in values per 512-value window.
    static let cusumReference: UInt32 = 16
    static let cusumThreshold: UInt32 = 64
    static let staleAge: UInt16 = 4
    /// Below this many values (in a fresh or just reset histogram) nothing is evicted:
    /// a layout learnt from a full window outweighs the first few hundred values.
    static let evictionMinimum: UInt64 = 8_192
    static let trackedQuantiles: (Double, Double, Double, Double) = (0.5, 0.9, 0.99, 0.999)

    enum Refinement: Equatable {
        case octave(Int)
        case level2(slot: Int, bucket: Int)
    }

    @usableFromInline
    func adapt() {
        let epoch: UInt16 = load(HistogramLayout.epochOffset)
        var protected = SlotMask(), neighbourhood = SlotMask()
        let alarm = runChangeDetectors()
        let (pins, homes) = pinTrackedQuantiles(epoch: epoch, protecting: &protected, neighbours: &neighbourhood)
        // Breadth first: every tracked quantile gets level 2 before any gets level 3, so a
        // small budget spends its slots evenly; then the neighbours, which may not take a
        // slot from each other or from a quantile.
        var octaves = pins, buckets = pins, neighbours = homes
        // The octaves either side of a tracked quantile's octave get level 2: a quantile
        // that moves into one then finds it refined, rather than an octave-wide residual
        // of everything it caught before. Their groups are kept like the quantiles' own,
        // except from a tracked quantile's octave.
        var octaveNeighbours = SlotMask(), missingOctaves = OctaveMask()
        forEachNeighbourOctave(of: homes) { octave in
            if let existing = level2Slot(ofOctave: octave) {
                touch(slot: existing, epoch: epoch)
                octaveNeighbours.insert(existing)
            } else {
                missingOctaves.insert(octave)
            }
        }
        // A tracked quantile's octave outranks another quantile's level-3 group and an
        // octave neighbour: it may take one (a level-1 bound is 33%, a level-2 one 3%).
        var groups = level2Groups(in: protected)
        while let pin = octaves.popFirst() { if case .octave = pin { refine(pin, pinned: true, protected: &groups) } }
        protected.formUnion(groups)
        while let pin = buckets.popFirst() { if case .level2 = pin { refine(pin, pinned: true, protected: &protected) } }
        protected.formUnion(octaveNeighbours)
        protected.formUnion(neighbourhood)
        while case .level2(let group, let bucket)? = neighbours.popFirst() {
            for step in stride(from: -1, through: 1, by: 2) {
                if let (slot, neighbour) = adjacentBucket(group: group, bucket: bucket, step: step) {
                    refine(.level2(slot: slot, bucket: neighbour), pinned: true, protected: &protected)
                }
            }
        }
        for octave in 0..<HistogramLayout.octaveCount where missingOctaves.contains(octave) {
            refine(.octave(octave), pinned: true, protected: &protected)
        }
        if let alarm { refine(alarm, pinned: false, protected: &protected) }
        if let heavy = heaviestUnrefinedOctave() { refine(heavy, pinned: false, protected: &protected) }
        refineOccupiedOctaves(protected: &protected)
        store(epoch &+ 1, HistogramLayout.epochOffset)
    }

    /// While slots are plentiful, every octave that caught a value gets level 2 at once:
    /// a quantile that later moves there finds it refined, not an octave-wide residual of
    /// what it caught before. A quarter of the slots (at least 4) stays free for the
    /// triggers above; these groups are evictable like any detector-driven one.
    private func refineOccupiedOctaves(protected: inout SlotMask) {
        var free = 0
        for slot in 0..<slotCount where slotKind(slot) == .free { free += 1 }
        let reserve = max(4, slotCount / 4)
        for octave in 0..<HistogramLayout.octaveCount where free > reserve {
            guard octaveCount(octave) > 0, level2Slot(ofOctave: octave) == nil else { continue }
            refine(.octave(octave), pinned: false, mayEvict: false, protected: &protected)
            free -= 1
        }
    }

    /// Updates every level-2 leaf's CUSUM; returns the leaf with the highest score past h.
    private func runChangeDetectors() -> Refinement? {
        var best: Refinement?, bestScore: UInt32 = 0
        for slot in 0..<slotCount where slotKind(slot) == .level2 {
            for bucket in 0..<HistogramLayout.level2Fanout {
                let aux = auxWord(slot, bucket)
                guard aux & HistogramLayout.splitBit == 0 else { continue }
                let count = counter(slot, bucket)
                let hits = UInt32(UInt16(truncatingIfNeeded: count) &- UInt16(truncatingIfNeeded: aux))
                let raised = (aux >> 16) + hits
                let score = min(raised > Self.cusumReference ? raised - Self.cusumReference : 0, 0x7FFF)
                setAuxWord(slot, bucket, score << 16 | UInt32(UInt16(truncatingIfNeeded: count)))
                if score >= Self.cusumThreshold, score > bestScore {
                    best = .level2(slot: slot, bucket: bucket)
                    bestScore = score
                }
            }
        }
        return best
    }

    /// Protects the groups holding the tracked quantiles for this pass; returns the coarse
    /// leaves (octaves, level-2 buckets) that hold one, and the level-2 buckets they are in.
    private func pinTrackedQuantiles(epoch: UInt16, protecting protected: inout SlotMask,
                                     neighbours neighbourhood: inout SlotMask)
        -> (pins: RefinementList, homes: RefinementList) {
        var pins = RefinementList(), homes = RefinementList()
        let total = count
        guard total > 0 else { return (pins, homes) }
        let q = Self.trackedQuantiles
        var ranks = RankList(Self.settledRank(q.0, count: total), Self.settledRank(q.1, count: total),
                             Self.settledRank(q.2, count: total), Self.settledRank(q.3, count: total))
        func pin(_ location: HistogramCell.Location) {
            switch location {
            case .octave(let octave):
                if let group = level2Slot(ofOctave: octave) {
                    protected.insert(group)
                    touch(slot: group, epoch: epoch)
                } else {
                    pins.appendUnique(.octave(octave))
                }
            case .level2(let slot, let bucket):
                protectNeighbourhood(group: slot, bucket: bucket, epoch: epoch, &protected, &neighbourhood)
                homes.appendUnique(.level2(slot: slot, bucket: bucket))
                if level3Slot(under: slot, bucket: bucket) == nil {
                    pins.appendUnique(.level2(slot: slot, bucket: bucket))
                }
            case .level3(let slot, _):
                if let (parent, bucket) = refinedBucket(ofFine: slot) {
                    protectNeighbourhood(group: parent, bucket: bucket, epoch: epoch, &protected, &neighbourhood)
                    homes.appendUnique(.level2(slot: parent, bucket: bucket))
                }
            case .clampedLow, .clampedHigh, .compact:
                break
            }
        }
        locate(&ranks, pin)
        forEachTailHint { pin($0) }
        return (pins, homes)
    }

    /// Calls `body` with the cell holding each rank, in the order of
    /// `forEachCell(parentsFirst: false)`, but adds up a level-3 group in one go when no
    /// rank falls inside it (this runs every 512 values). A rank in a refined octave's
    /// residual (counted before the octave had children, so after them in this order)
    /// gets the level-2 bucket it would fall in were the residual spread like the
    /// children: that bucket is where to refine, not the octave, which already is.
    func locate(_ ranks: inout RankList, _ body: (HistogramCell.Location) -> Void) {
        var seen = UInt64(clampedLowCount)
        func settle(_ location: HistogramCell.Location) {
            while let rank = ranks.first, rank <= seen {
                ranks.dropFirst()
                body(location)
            }
        }
        settle(.clampedLow)
        for octave in 0..<HistogramLayout.octaveCount where ranks.first != nil {
            if let group = level2Slot(ofOctave: octave) {
                let octaveStart = seen
                for bucket in 0..<HistogramLayout.level2Fanout {
                    if let fine = level3Slot(under: group, bucket: bucket) {
                        var sum: UInt64 = 0
                        for sub in 0..<HistogramLayout.level3Fanout { sum &+= UInt64(counter(fine, sub)) }
                        if let rank = ranks.first, seen &+ sum >= rank {
                            for sub in 0..<HistogramLayout.level3Fanout {
                                seen &+= UInt64(counter(fine, sub))
                                settle(.level3(slot: fine, bucket: sub))
                            }
                        } else {
                            seen &+= sum
                        }
                    }
                    seen &+= UInt64(counter(group, bucket))
                    settle(.level2(slot: group, bucket: bucket))
                }
                let residual = UInt64(octaveCount(octave))
                while let rank = ranks.first, rank <= seen &+ residual {
                    ranks.dropFirst()
                    body(.level2(slot: group, bucket: bucket(of: group, at: rank &- octaveStart,
                                                            outOf: seen &+ residual &- octaveStart)))
                }
            }
            seen &+= UInt64(octaveCount(octave))
            settle(.octave(octave))
        }
        seen &+= UInt64(clampedHighCount)
        settle(.clampedHigh)
    }

    /// The rank of quantile `q` among `count` values, or `.max` while fewer than 8 values
    /// lie above it: such a quantile still wanders with every value, and pinning it would
    /// refine (and evict for) places it soon leaves.
    static func settledRank(_ q: Double, count: UInt64) -> UInt64 {
        (1 - q) * Double(count) >= 8 ? rank(of: q, count: count) : .max
    }

    /// The level-2 group and bucket that level-3 group `slot` refines (nil for a
    /// reference out of range).
    func refinedBucket(ofFine slot: Int) -> (group: Int, bucket: Int)? {
        let offset = slotOffset(slot)
        let parent = Int(load(offset + HistogramLayout.parentOffset) as UInt8)
        guard parent < slotCount else { return nil }
        return (parent, Int((load(offset + HistogramLayout.kindOffset) as UInt8) >> 4) & 7)
    }

    /// The bucket of `group` holding the `position`-th of its octave's `total` values
    /// (children and residual), with the residual spread in proportion to the children.
    private func bucket(of group: Int, at position: UInt64, outOf total: UInt64) -> Int {
        let children = sumOfGroup(group)
        guard children > 0, total > 0 else { return HistogramLayout.level2Fanout - 1 }
        let target = Double(position) / Double(total) * Double(children)
        var seen: UInt64 = 0
        for bucket in 0..<HistogramLayout.level2Fanout {
            seen += UInt64(counter(group, bucket))
            if let fine = level3Slot(under: group, bucket: bucket) { seen += sumOfFineGroup(fine) }
            if Double(seen) >= target { return bucket }
        }
        return HistogramLayout.level2Fanout - 1
    }

    /// Protects a level-2 group and the refinement of `bucket`, marks the refinements of
    /// the buckets either side as neighbours, and marks all of them used: a quantile near
    /// a bucket edge crosses it back and forth as values arrive, and the refinement it
    /// left should still be there when it returns.
    private func protectNeighbourhood(group: Int, bucket: Int, epoch: UInt16,
                                      _ protected: inout SlotMask, _ neighbourhood: inout SlotMask) {
        protected.insert(group)
        touch(slot: group, epoch: epoch)
        if let fine = level3Slot(under: group, bucket: bucket) {
            protected.insert(fine)
            touch(slot: fine, epoch: epoch)
        }
        for step in stride(from: -1, through: 1, by: 2) {
            if let (slot, neighbour) = adjacentBucket(group: group, bucket: bucket, step: step),
               let fine = level3Slot(under: slot, bucket: neighbour) {
                neighbourhood.insert(fine)
                touch(slot: fine, epoch: epoch)
            }
        }
    }

    /// The level-2 bucket next to `bucket` of `group` (step −1 or +1), across an octave
    /// edge when the next octave has a group; nil when there is none.
    private func adjacentBucket(group: Int, bucket: Int, step: Int) -> (slot: Int, bucket: Int)? {
        let next = bucket + step
        if (0..<HistogramLayout.level2Fanout).contains(next) { return (group, next) }
        let octave = Int(load(slotOffset(group) + HistogramLayout.parentOffset) as UInt8) + step
        guard (0..<HistogramLayout.octaveCount).contains(octave), let slot = level2Slot(ofOctave: octave)
        else { return nil }
        return (slot, next < 0 ? HistogramLayout.level2Fanout - 1 : 0)
    }

    /// Calls `body` with each octave next to one holding a home (no repeats, any order).
    private func forEachNeighbourOctave(of homes: RefinementList, _ body: (Int) -> Void) {
        var list = homes, seen = OctaveMask()
        while case .level2(let group, _)? = list.popFirst() {
            let octave = Int(load(slotOffset(group) + HistogramLayout.parentOffset) as UInt8)
            for neighbour in stride(from: octave - 1, through: octave + 1, by: 2)
            where (0..<HistogramLayout.octaveCount).contains(neighbour) && !seen.contains(neighbour) {
                seen.insert(neighbour)
                body(neighbour)
            }
        }
    }

    /// The level-2 groups among `mask`.
    private func level2Groups(in mask: SlotMask) -> SlotMask {
        var groups = SlotMask()
        for slot in 0..<slotCount where mask.contains(slot) && slotKind(slot) == .level2 { groups.insert(slot) }
        return groups
    }

    private func heaviestUnrefinedOctave() -> Refinement? {
        var best: Refinement?, bestCount: UInt32 = 0
        let total = count
        for octave in 0..<HistogramLayout.octaveCount where level2Slot(ofOctave: octave) == nil {
            let count = octaveCount(octave)
            if UInt64(count) * 32 >= total, count > bestCount { best = .octave(octave); bestCount = count }
        }
        return best
    }

    /// Gives `target` children, if a slot is free or can be reclaimed (see above).
    func refine(_ target: Refinement, pinned: Bool, mayEvict: Bool = true, protected: inout SlotMask) {
        let epoch: UInt16 = load(HistogramLayout.epochOffset)
        switch target {
        case .octave(let octave):
            guard level2Slot(ofOctave: octave) == nil,
                  let slot = claimSlot(for: UInt64(octaveCount(octave)), pinned: pinned,
                                     mayEvict: mayEvict, protected: protected)
            else { return }
            store(SlotKind.level2.rawValue, slotOffset(slot) + HistogramLayout.kindOffset)
            store(UInt8(octave), slotOffset(slot) + HistogramLayout.parentOffset)
            touch(slot: slot, epoch: epoch)
            store(UInt8(slot + 1), HistogramLayout.octaveGroupsOffset + octave)
            protected.insert(slot)
        case .level2(let group, let bucket):
            guard slotKind(group) == .level2, level3Slot(under: group, bucket: bucket) == nil else { return }
            protected.insert(group)
            guard let slot = claimSlot(for: UInt64(counter(group, bucket)), pinned: pinned,
                                       mayEvict: mayEvict, protected: protected)
            else { return }
            store(SlotKind.level3.rawValue | UInt8(bucket << 4), slotOffset(slot) + HistogramLayout.kindOffset)
            store(UInt8(group), slotOffset(slot) + HistogramLayout.parentOffset)
            touch(slot: slot, epoch: epoch)
            setAuxWord(group, bucket, HistogramLayout.splitBit | UInt32(slot))
            protected.insert(slot)
        }
    }

    /// A zeroed slot for a bucket holding `mass` values: a free one, else a reclaimed one.
    private func claimSlot(for mass: UInt64, pinned: Bool, mayEvict evictionWanted: Bool,
                           protected: SlotMask) -> Int? {
        let epoch: UInt16 = load(HistogramLayout.epochOffset)
        let mayEvict = evictionWanted && count >= Self.evictionMinimum
        var stalest: Int?, stalestAge: UInt16 = 0
        for slot in 0..<slotCount {
            guard let kind = slotKind(slot) else { continue }
            if kind == .free { return slot }
            guard mayEvict, isEvictable(slot, kind: kind, protected: protected) else { continue }
            let age = epoch &- (load(slotOffset(slot) + HistogramLayout.lastUseOffset) as UInt16)
            if age >= Self.staleAge, stalest == nil || age > stalestAge { stalest = slot; stalestAge = age }
        }
        var victim = stalest
        if victim == nil, mayEvict {
            // Only now weigh the active groups (16 loads each).
            var lightestMass = UInt64.max
            for slot in 0..<slotCount {
                guard let kind = slotKind(slot), isEvictable(slot, kind: kind, protected: protected) else { continue }
                let slotMass = massOf(slot)
                if slotMass < lightestMass, pinned || slotMass * 2 < mass { victim = slot; lightestMass = slotMass }
            }
        }
        guard let victim else { return nil }
        mergeIntoParent(victim)
        return victim
    }

    private func isEvictable(_ slot: Int, kind: SlotKind, protected: SlotMask) -> Bool {
        kind != .free && !protected.contains(slot) && (kind == .level3 || !hasChildren(slot))
    }

    /// The values in the bucket a group refines: its counters and the parent's residual,
    /// so a group created a moment ago does not look lighter than the bucket it splits.
    private func massOf(_ slot: Int) -> UInt64 {
        let isFine = slotKind(slot) == .level3
        var mass: UInt64 = 0
        for index in 0..<(isFine ? HistogramLayout.level3Fanout : HistogramLayout.level2Fanout) {
            mass += UInt64(counter(slot, index))
        }
        let offset = slotOffset(slot)
        let parent = Int(load(offset + HistogramLayout.parentOffset) as UInt8)
        if isFine {
            let bucket = Int((load(offset + HistogramLayout.kindOffset) as UInt8) >> 4) & 7
            if parent < slotCount { mass += UInt64(counter(parent, bucket)) }
        } else if parent < HistogramLayout.octaveCount {
            mass += UInt64(octaveCount(parent))
        }
        return mass
    }

    private func hasChildren(_ group: Int) -> Bool {
        for bucket in 0..<HistogramLayout.level2Fanout where level3Slot(under: group, bucket: bucket) != nil {
            return true
        }
        return false
    }

    /// Folds a childless group's counts into its parent's residual and frees the slot.
    /// Counts are conserved; if the parent's counter would overflow, everything is halved.
    func mergeIntoParent(_ slot: Int) {
        let offset = slotOffset(slot)
        let kindByte: UInt8 = load(offset + HistogramLayout.kindOffset)
        let parent = Int(load(offset + HistogramLayout.parentOffset) as UInt8)
        switch slotKind(slot) {
        case .level2?:
            let octave = parent
            if octave < HistogramLayout.octaveCount {
                setOctaveCount(octave, sumWithoutOverflow(slot, fanout: HistogramLayout.level2Fanout,
                                                          into: Layout.octaveCountsOffset + 4 * octave))
                store(UInt8(0), HistogramLayout.octaveGroupsOffset + octave)
            }
        case .level3?:
            let bucket = Int(kindByte >> 4) & 7
            if parent < slotCount {
                let merged = sumWithoutOverflow(slot, fanout: HistogramLayout.level3Fanout,
                                                into: slotOffset(parent) + 4 * bucket)
                setCounter(parent, bucket, merged)
                setAuxWord(parent, bucket, UInt32(UInt16(truncatingIfNeeded: merged)))   // a leaf again
            }
        case .free?, nil:
            break
        }
        (base + offset).initializeMemory(as: UInt8.self, repeating: 0, count: HistogramLayout.slotSize)
    }

    /// The counter at `target` plus the slot's counters, halving everything until it fits.
    private func sumWithoutOverflow(_ slot: Int, fanout: Int, into target: Int) -> UInt32 {
        while true {
            var sum = UInt64(load(target) as UInt32)
            for index in 0..<fanout { sum += UInt64(counter(slot, index)) }
            if sum <= UInt64(UInt32.max) { return UInt32(sum) }
            halveCounts()
        }
    }

    /// Restarts a level-2 leaf's CUSUM from its current count (no-op for a refined bucket).
    func resetDetector(_ slot: Int, _ bucket: Int) {
        guard auxWord(slot, bucket) & HistogramLayout.splitBit == 0 else { return }
        setAuxWord(slot, bucket, UInt32(UInt16(truncatingIfNeeded: counter(slot, bucket))))
    }
}

/// At most four refinements, without an array: one per tracked quantile; the tail hints
/// (`TailHints`) get the places the quantiles leave.
struct RefinementList {
    private var items: (LatencyHistogram.Refinement?, LatencyHistogram.Refinement?,
                        LatencyHistogram.Refinement?, LatencyHistogram.Refinement?) = (nil, nil, nil, nil)

    mutating func appendUnique(_ item: LatencyHistogram.Refinement) {
        if items.0 == item || items.1 == item || items.2 == item || items.3 == item { return }
        if items.0 == nil { items.0 = item } else if items.1 == nil { items.1 = item }
        else if items.2 == nil { items.2 = item } else if items.3 == nil { items.3 = item }
    }

    mutating func popFirst() -> LatencyHistogram.Refinement? {
        let first = items.0
        items = (items.1, items.2, items.3, nil)
        return first
    }
}

/// A set of slot indices (0…255), without an array.
struct SlotMask {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    mutating func insert(_ slot: Int) {
        let bit = UInt64(1) << UInt64(slot & 63)
        switch slot >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    mutating func formUnion(_ other: SlotMask) {
        words = (words.0 | other.words.0, words.1 | other.words.1, words.2 | other.words.2, words.3 | other.words.3)
    }

    func contains(_ slot: Int) -> Bool {
        let word: UInt64
        switch slot >> 6 {
        case 0: word = words.0
        case 1: word = words.1
        case 2: word = words.2
        default: word = words.3
        }
        return word & (UInt64(1) << UInt64(slot & 63)) != 0
    }
}

/// A set of octaves (0…63).
struct OctaveMask {
    private var bits: UInt64 = 0
    mutating func insert(_ octave: Int) { bits |= 1 << UInt64(octave & 63) }
    func contains(_ octave: Int) -> Bool { bits & (1 << UInt64(octave & 63)) != 0 }
}

/// The four tracked ranks, ascending, consumed from the front.
struct RankList {
    private var ranks: (UInt64?, UInt64?, UInt64?, UInt64?)
    init(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) { ranks = (a, b, c, d) }
    var first: UInt64? { ranks.0 }
    mutating func dropFirst() { ranks = (ranks.1, ranks.2, ranks.3, nil) }
}
