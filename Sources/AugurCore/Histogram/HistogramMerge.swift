extension LatencyHistogram {
    /// Adds `other`'s counts to this histogram.
    ///
    /// The result keeps this histogram's size, but its layout is chosen from both
    /// (`MergedLayout`): the refinements around the merged quantiles first, then those
    /// resolving the most values. When the layouts agree the result is exactly the
    /// histogram of the union. A refinement that does not fit has its counts go to the
    /// covering bucket's residual (returns false), and a coarser input's residual stays a
    /// residual: nothing is ever placed in a range it may not belong to, so every bound
    /// this histogram reports afterwards still holds. Throws, changing nothing, when a
    /// counter would overflow. Both must have the same layout family (`layoutMismatch`
    /// otherwise): a compact histogram merges as `mergeCompact` says.
    @discardableResult
    public func merge(_ other: LatencyHistogram) throws -> Bool {
        guard isCompact == other.isCompact else { throw HistogramError.layoutMismatch }
        guard !count.addingReportingOverflow(other.count).overflow else { throw HistogramError.countOverflow }
        let exact: Bool
        if isCompact {
            exact = try mergeCompact(other)
        } else {
            exact = try mergeTiered(other)
        }
        storeMergedSummary(of: other, into: self)
        return exact
    }

    /// Sets `target`'s total, minimum and maximum to those of this histogram and `other`
    /// together (this one's total not yet updated).
    func storeMergedSummary(of other: LatencyHistogram, into target: LatencyHistogram) {
        target.store(count &+ other.count, HistogramLayout.totalOffset)
        target.store(min(load(HistogramLayout.minOffset) as UInt64, other.load(HistogramLayout.minOffset)),
                     HistogramLayout.minOffset)
        target.store(max(load(HistogramLayout.maxOffset) as UInt64, other.load(HistogramLayout.maxOffset)),
                     HistogramLayout.maxOffset)
    }

    /// Builds the merged layout in scratch memory, folds both histograms into it, and
    /// copies its counters and slots over this one's (the header's version, slot count,
    /// adaptation countdown, epoch and tail hints stay; `merge` sets the total, minimum
    /// and maximum).
    private func mergeTiered(_ other: LatencyHistogram) throws -> Bool {
        let bytes = byteCount
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 2 * bytes, alignment: 8)
        defer { scratch.deallocate() }
        scratch.copyMemory(from: base, byteCount: bytes)
        guard let mine = LatencyHistogram(formattedAt: scratch) else { throw HistogramError.corrupt("not a histogram") }
        let result = LatencyHistogram(formattingTiered: scratch + bytes, capacity: bytes)
        // This histogram's version, slot count, adaptation countdown, epoch and tail hints.
        (scratch + bytes).copyMemory(from: base, byteCount: HistogramLayout.totalOffset)
        (scratch + bytes + HistogramLayout.tailHintsOffset).copyMemory(from: base + HistogramLayout.tailHintsOffset,
                                                                        byteCount: 3)
        result.make(MergedLayout(mine, other, slots: slotCount))
        guard result.fold(mine, apply: false) else { throw HistogramError.countOverflow }
        let keptMine = result.fold(mine, apply: true)
        guard result.fold(other, apply: false) else { throw HistogramError.countOverflow }
        let keptOther = result.fold(other, apply: true)
        result.restartDetectors()
        let counters = HistogramLayout.clampedLowOffset
        (base + counters).copyMemory(from: scratch + bytes + counters, byteCount: bytes - counters)
        return keptMine && keptOther
    }

    /// One pass over `other`'s cells. Without `apply`, only checks that no counter would
    /// overflow (returns false if one would); with it, adds and returns exactness.
    private func fold(_ other: LatencyHistogram, apply: Bool) -> Bool {
        var fits = true, exact = true
        func add(_ amount: UInt64, _ offset: Int) {
            let sum = UInt64(load(offset) as UInt32) + amount
            if sum > UInt64(UInt32.max) { fits = false } else if apply { store(UInt32(sum), offset) }
        }
        add(UInt64(other.clampedLowCount), HistogramLayout.clampedLowOffset)
        add(UInt64(other.clampedHighCount), HistogramLayout.clampedHighOffset)
        for octave in 0..<HistogramLayout.octaveCount {
            var intoOctave = UInt64(other.octaveCount(octave))
            defer { add(intoOctave, HistogramLayout.octaveCountsOffset + 4 * octave) }
            guard let theirs = other.level2Slot(ofOctave: octave) else { continue }
            guard let ours = level2Slot(ofOctave: octave) else {
                exact = false
                intoOctave += other.sumOfGroup(theirs)
                continue
            }
            for bucket in 0..<HistogramLayout.level2Fanout {
                var intoBucket = UInt64(other.counter(theirs, bucket))
                defer { add(intoBucket, slotOffset(ours) + 4 * bucket) }
                guard let theirFine = other.level3Slot(under: theirs, bucket: bucket) else { continue }
                guard let ourFine = level3Slot(under: ours, bucket: bucket) else {
                    exact = false
                    intoBucket += other.sumOfFineGroup(theirFine)
                    continue
                }
                for sub in 0..<HistogramLayout.level3Fanout {
                    add(UInt64(other.counter(theirFine, sub)), slotOffset(ourFine) + 4 * sub)
                }
            }
        }
        return apply ? exact : fits
    }

    /// A level-2 group's counts, its level-3 children included.
    func sumOfGroup(_ group: Int) -> UInt64 {
        var sum: UInt64 = 0
        for bucket in 0..<HistogramLayout.level2Fanout {
            sum += UInt64(counter(group, bucket))
            if let fine = level3Slot(under: group, bucket: bucket) { sum += sumOfFineGroup(fine) }
        }
        return sum
    }

    func sumOfFineGroup(_ fine: Int) -> UInt64 {
        var sum: UInt64 = 0
        for sub in 0..<HistogramLayout.level3Fanout { sum += UInt64(counter(fine, sub)) }
        return sum
    }

    /// Restarts every level-2 leaf's change detector from its count.
    private func restartDetectors() {
        for slot in 0..<slotCount where slotKind(slot) == .level2 {
            for bucket in 0..<HistogramLayout.level2Fanout { resetDetector(slot, bucket) }
        }
    }
}
