/// Where a histogram's p99 and p99.9 usually fall, carried from one flush window to the
/// next (header bytes 205–207), so that each window refines there too.
///
/// The server's cumulative histogram is the merge of its windows, and each window refines
/// around its own quantiles. A window's p99.9 rests on about 25 values above it out of
/// 25,000, so it scatters by ±50 % from window to window; the cumulative p99.9 then falls
/// where few windows refined, and its values sit in coarse buckets. At each reset the
/// ending window's p99 and p99.9 (as level-2 bucket numbers, octave · 8 + bucket) move
/// each hint a quarter of the way towards them, and the adaptation pins the hinted
/// buckets as it pins the window's own quantiles.
extension LatencyHistogram {
    /// The quantiles hinted, and how far a hint moves towards a window's (1/4).
    static let hintedQuantiles: (Double, Double) = (0.99, 0.999)
    static let hintShift = 2

    /// The two hints, level-2 bucket number plus one (0: none).
    var tailHints: (UInt32, UInt32) {
        let offset = HistogramLayout.tailHintsOffset
        let packed = UInt32(load(offset) as UInt8) | UInt32(load(offset + 1) as UInt8) << 8
            | UInt32(load(offset + 2) as UInt8) << 16
        return (packed & 0x1FF, packed >> 9 & 0x1FF)
    }

    private func setTailHints(_ hints: (UInt32, UInt32)) {
        let packed = hints.0 & 0x1FF | (hints.1 & 0x1FF) << 9
        let offset = HistogramLayout.tailHintsOffset
        store(UInt8(truncatingIfNeeded: packed), offset)
        store(UInt8(truncatingIfNeeded: packed >> 8), offset + 1)
        store(UInt8(truncatingIfNeeded: packed >> 16), offset + 2)
    }

    /// Moves the hints towards this window's p99 and p99.9 (before its counts are reset).
    /// A quantile with fewer than 8 values above it, or in an unrefined octave, leaves
    /// its hint as it is.
    func updateTailHints() {
        let (q99, q999) = Self.hintedQuantiles
        var found: (UInt32, UInt32) = (0, 0), index = 0
        var ranks = RankList(Self.settledRank(q99, count: count), Self.settledRank(q999, count: count), .max, .max)
        locate(&ranks) { location in
            let bucket = level2Bucket(of: location).map { UInt32($0) + 1 } ?? 0
            if index == 0 { found.0 = bucket } else { found.1 = bucket }
            index += 1
        }
        func smoothed(_ hint: UInt32, towards target: UInt32) -> UInt32 {
            guard target > 0 else { return hint }
            guard hint > 0 else { return target }
            let step = (Int(target) - Int(hint)) >> Self.hintShift
            return UInt32(Int(hint) + (step == 0 ? (target > hint ? 1 : target < hint ? -1 : 0) : step))
        }
        let hints = tailHints
        setTailHints((smoothed(hints.0, towards: found.0), smoothed(hints.1, towards: found.1)))
    }

    /// Calls `body` with where each hinted bucket is now: its octave, its level-2 bucket
    /// or a cell of its level-3 group.
    func forEachTailHint(_ body: (HistogramCell.Location) -> Void) {
        func visit(_ hint: UInt32) {
            let number = Int(hint) - 1
            let octave = number >> HistogramLayout.level2Shift, bucket = number & (HistogramLayout.level2Fanout - 1)
            guard hint > 0, octave < HistogramLayout.octaveCount else { return }
            guard let group = level2Slot(ofOctave: octave) else { return body(.octave(octave)) }
            if let fine = level3Slot(under: group, bucket: bucket) {
                body(.level3(slot: fine, bucket: 0))
            } else {
                body(.level2(slot: group, bucket: bucket))
            }
        }
        let hints = tailHints
        visit(hints.0)
        if hints.1 != hints.0 { visit(hints.1) }
    }

    /// The level-2 bucket number (octave · 8 + bucket) of a level-2 or level-3 cell.
    private func level2Bucket(of location: HistogramCell.Location) -> Int? {
        switch location {
        case .level2(let slot, let bucket):
            return Int(load(slotOffset(slot) + HistogramLayout.parentOffset) as UInt8) << HistogramLayout.level2Shift | bucket
        case .level3(let slot, _):
            return refinedBucket(ofFine: slot).flatMap { level2Bucket(of: .level2(slot: $0.group, bucket: $0.bucket)) }
        case .octave, .clampedLow, .clampedHigh, .compact:
            return nil
        }
    }
}
