/// Which refinements the merge of two tiered histograms keeps (`LatencyHistogram.merge`).
///
/// The result has one histogram's slots, but both inputs' refinements are candidates:
/// a refinement that neither keeps would turn its fine counts into a residual for good.
/// In the server the cumulative histogram is the merge of every flush window, and each
/// window's layout follows that window's quantiles: keeping only the cumulative's own
/// layout froze it at the first window's (a step stream's cumulative p99.9 was off by
/// 33 %), keeping only the window's lost the older windows' resolution.
///
/// Order of choice, while slots last:
/// 1. the octaves, then the level-2 buckets, around the merged histogram's tracked
///    quantiles (p50, p90, p99, p99.9, located from both inputs' cells; a bucket within
///    one bucket of a quantile's interval counts, as in the adaptation's neighbours);
/// 2. every other refinement, by the values it resolves (its counters in the inputs that
///    have it). A level-3 group brings its level-2 parent along if that is not chosen yet.
/// When the layouts agree, everything fits and the merge is exact.
struct MergedLayout {
    enum Refinement: Hashable {
        case octave(Int)
        case bucket(octave: Int, bucket: Int)

        var octave: Int {
            switch self {
            case .octave(let octave), .bucket(let octave, _): octave
            }
        }
    }

    /// In the order they are to be made: every level-3 group after its parent.
    private(set) var chosen: [Refinement] = []

    init(_ first: LatencyHistogram, _ second: LatencyHistogram, slots: Int) {
        var resolved: [Refinement: UInt64] = [:]
        for histogram in [first, second] {
            histogram.forEachRefinement { refinement, mass in resolved[refinement, default: 0] += mass }
        }
        let intervals = Self.trackedIntervals(first, second)
        func isPinned(_ refinement: Refinement) -> Bool {
            let (low, high) = Self.range(of: refinement)
            return intervals.contains { $0.lower < high && low <= $0.upper }
        }
        let byMass = resolved.sorted { ($0.value, $1.key.order) > ($1.value, $0.key.order) }.map(\.key)
        let pinnedOctaves = byMass.filter { if case .octave = $0 { isPinned($0) } else { false } }
        let pinnedBuckets = byMass.filter { if case .bucket = $0 { isPinned($0) } else { false } }
        var taken = Set<Refinement>()
        for refinement in pinnedOctaves + pinnedBuckets + byMass where !taken.contains(refinement) {
            let parent = Refinement.octave(refinement.octave)
            let steps = Set([parent, refinement]).subtracting(taken)
            guard chosen.count + steps.count <= slots else { continue }
            for step in [parent, refinement] where taken.insert(step).inserted { chosen.append(step) }
        }
    }

    /// The value intervals the merged tracked quantiles are known to lie in, for those
    /// with at least 8 values above them (as the adaptation pins them).
    private static func trackedIntervals(_ first: LatencyHistogram, _ second: LatencyHistogram)
        -> [(lower: UInt64, upper: UInt64)] {
        let merged = LatencyCells((first.cells + second.cells).map(\.latencyCell))
        let q = LatencyHistogram.trackedQuantiles
        return [q.0, q.1, q.2, q.3].compactMap { q in
            guard LatencyHistogram.settledRank(q, count: merged.count) != .max,
                  let estimate = try? merged.quantile(q) else { return nil }
            return (estimate.lowerNanoseconds, estimate.upperNanoseconds)
        }
    }

    /// A refinement's value range, a level-2 bucket's widened by one bucket each side.
    private static func range(of refinement: Refinement) -> (UInt64, UInt64) {
        let low = HistogramLayout.octaveLow(refinement.octave)
        guard case .bucket(_, let bucket) = refinement else { return (low, low << 1) }
        let width = low >> UInt64(HistogramLayout.level2Shift)
        let start = low + UInt64(bucket) * width
        return (start - width, start + 2 * width)
    }
}

extension MergedLayout.Refinement {
    /// Ties in mass go by value order, so the choice does not depend on hashing.
    fileprivate var order: Int {
        switch self {
        case .octave(let octave): octave * 16
        case .bucket(let octave, let bucket): octave * 16 + 1 + bucket
        }
    }
}

extension LatencyHistogram {
    /// Calls `body` with each refinement and the values its counters hold.
    fileprivate func forEachRefinement(_ body: (MergedLayout.Refinement, UInt64) -> Void) {
        for octave in 0..<HistogramLayout.octaveCount {
            guard let group = level2Slot(ofOctave: octave) else { continue }
            body(.octave(octave), sumOfGroup(group))
            for bucket in 0..<HistogramLayout.level2Fanout {
                if let fine = level3Slot(under: group, bucket: bucket) {
                    body(.bucket(octave: octave, bucket: bucket), sumOfFineGroup(fine))
                }
            }
        }
    }

    /// Makes `layout`'s refinements in an empty histogram (every slot free).
    func make(_ layout: MergedLayout) {
        var protected = SlotMask()
        for refinement in layout.chosen {
            switch refinement {
            case .octave(let octave):
                refine(.octave(octave), pinned: true, mayEvict: false, protected: &protected)
            case .bucket(let octave, let bucket):
                if let group = level2Slot(ofOctave: octave) {
                    refine(.level2(slot: group, bucket: bucket), pinned: true, mayEvict: false, protected: &protected)
                }
            }
        }
    }
}
