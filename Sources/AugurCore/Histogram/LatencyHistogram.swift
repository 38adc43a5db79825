/// An adaptive latency histogram over a caller-owned buffer (see `HistogramLayout`).
///
/// Three levels: 33 octaves from 512 ns to 73 min (level 1); an octave cut into 8 linear
/// buckets (level 2); a level-2 bucket cut into 16 (level 3). Level 2 and 3 exist only
/// where the data needs them, in fixed-size slots, so the buffer's size is a hard budget.
/// A value lands in the deepest existing bucket covering it; children partition their
/// parent exactly, so leaves are always contiguous and never overlap. A parent keeps what
/// it counted before it was refined (its residual): counts are never guessed into
/// children, which is what keeps every reported bound rigorous (`HistogramCells`).
///
/// A buffer under 1 KiB takes the compact layout instead (`CompactLayout`): one dense
/// array of log buckets over the occupied range, no levels.
///
/// The struct is a view: copying it copies the pointer, not the histogram. Locking is
/// the caller's: `record` mutates the buffer and must not run concurrently with anything.
public struct LatencyHistogram {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let slotCount: Int
    /// The compact layout's counters; 0 for the tiered layout.
    @usableFromInline let compactCounters: Int

    @usableFromInline typealias Layout = HistogramLayout

    /// Formats `capacity` bytes at `base` as an empty histogram.
    /// Throws when the buffer cannot hold the header or is not 8-byte aligned.
    public init(formatting base: UnsafeMutableRawPointer, capacity: Int) throws {
        guard capacity >= Layout.headerSize else {
            throw HistogramError.bufferTooSmall(bytes: capacity, minimum: Layout.headerSize)
        }
        guard Int(bitPattern: base) % 8 == 0 else { throw HistogramError.misaligned }
        if CompactLayout.isChosen(capacity: capacity) {
            self.init(formattingCompact: base, capacity: capacity)
        } else {
            self.init(formattingTiered: base, capacity: capacity)
        }
    }

    init(formattingTiered base: UnsafeMutableRawPointer, capacity: Int) {
        self.base = base
        compactCounters = 0
        slotCount = Layout.slotCount(capacity: capacity)
        base.initializeMemory(as: UInt8.self, repeating: 0,
                              count: Layout.headerSize + slotCount * Layout.slotSize)
        base.storeBytes(of: Layout.version, toByteOffset: Layout.versionOffset, as: UInt8.self)
        base.storeBytes(of: UInt8(slotCount), toByteOffset: Layout.slotCountOffset, as: UInt8.self)
        base.storeBytes(of: UInt64.max, toByteOffset: Layout.minOffset, as: UInt64.self)
        base.storeBytes(of: Layout.adaptInterval(afterCount: 0), toByteOffset: Layout.untilAdaptOffset, as: UInt16.self)
    }

    /// A view of a buffer this library formatted itself (the hot path: the C side keeps
    /// only the pointer). Checks the version byte and nothing else; use
    /// `init(validating:capacity:)` for bytes from anywhere else.
    public init?(formattedAt base: UnsafeMutableRawPointer) {
        guard Int(bitPattern: base) % 8 == 0 else { return nil }
        self.base = base
        switch base.load(fromByteOffset: Layout.versionOffset, as: UInt8.self) {
        case Layout.version:
            slotCount = Int(base.load(fromByteOffset: Layout.slotCountOffset, as: UInt8.self))
            compactCounters = 0
        case CompactLayout.version:
            slotCount = 0
            compactCounters = Int(base.load(fromByteOffset: CompactLayout.counterCountOffset, as: UInt16.self))
        default:
            return nil
        }
    }

    /// Whether this is the compact layout (version 2) rather than the tiered one.
    @inlinable public var isCompact: Bool { compactCounters > 0 }

    /// Bytes in use: the header and the slots or counters (what `encode` copies).
    public var byteCount: Int {
        isCompact ? CompactLayout.headerSize + 4 * compactCounters : Layout.headerSize + slotCount * Layout.slotSize
    }

    /// Counters the layout can hold: the compact layout's array and its two cells; the
    /// tiered layout's clamp counters, octaves and every slot as 16 (what a sketch with as
    /// many buckets is compared with).
    public var bucketCapacity: Int {
        isCompact ? compactCounters + 2 : 2 + Layout.octaveCount + Layout.level3Fanout * slotCount
    }

    /// Every value recorded, clamped ones included.
    @inlinable public var count: UInt64 { load(Layout.totalOffset) }
    public var clampedLowCount: UInt32 { load(Layout.clampedLowOffset) }
    public var clampedHighCount: UInt32 { load(Layout.clampedHighOffset) }
    /// The smallest and largest values recorded (exact), nil while empty.
    public var minimumNanoseconds: UInt64? { count == 0 ? nil : load(Layout.minOffset) as UInt64 }
    public var maximumNanoseconds: UInt64? { count == 0 ? nil : load(Layout.maxOffset) as UInt64 }

    // MARK: The hot path

    /// Records one latency. Allocates nothing and never traps: values below 512 ns and at
    /// or above 2^42 ns are counted as clamped. Every 512 values it runs one adaptation
    /// pass (`adapt`, a walk over the slots; no allocation either).
    @inlinable
    public func record(nanoseconds value: UInt64) {
        store(count &+ 1, Layout.totalOffset)
        if value < load(Layout.minOffset) as UInt64 { store(value, Layout.minOffset) }
        if value > load(Layout.maxOffset) as UInt64 { store(value, Layout.maxOffset) }
        if isCompact {
            recordCompact(value)
            return
        }
        if value < Layout.lowEdge {
            increment(Layout.clampedLowOffset)
        } else if value >= Layout.highEdge {
            increment(Layout.clampedHighOffset)
        } else {
            countIntoLeaf(value)
        }
        let untilAdapt: UInt16 = load(Layout.untilAdaptOffset)
        if untilAdapt <= 1 {
            adapt()
            store(Layout.adaptInterval(afterCount: count), Layout.untilAdaptOffset)
        } else {
            store(untilAdapt &- 1, Layout.untilAdaptOffset)
        }
    }

    /// Records a latency given in microseconds (as PostgreSQL's instrumentation gives it,
    /// times 10^6). NaN and negatives count as clamped low, huge values as clamped high.
    public func record(microseconds: Double) {
        let nanoseconds = microseconds * 1000
        if !(nanoseconds >= 0) {
            record(nanoseconds: 0)
        } else if nanoseconds >= 1.8e19 {
            record(nanoseconds: .max)
        } else {
            record(nanoseconds: UInt64(nanoseconds))
        }
    }

    @inlinable
    func countIntoLeaf(_ value: UInt64) {
        let topBit = 63 - value.leadingZeroBitCount
        let octave = topBit - Layout.lowestExponent
        guard let group = level2Slot(ofOctave: octave) else {
            increment(Layout.octaveCountsOffset + 4 * octave)
            return
        }
        // Level 2 or 3 is chosen by selects, not a branch: which buckets are refined is
        // data-dependent, and a mispredicted branch costs more than the extra arithmetic.
        let bucket = Int(truncatingIfNeeded: value >> UInt64(topBit - Layout.level2Shift)) & 7
        let subBucket = Int(truncatingIfNeeded: value >> UInt64(topBit - Layout.level3Shift)) & 15
        let aux = auxWord(group, bucket)
        let fine = Int(aux & 0xFF)
        let isRefined = aux & Layout.splitBit != 0 && fine < slotCount
        let leafSlot = isRefined ? fine : group
        let leafIndex = isRefined ? subBucket : bucket
        let epoch: UInt16 = load(Layout.epochOffset)
        touch(slot: group, epoch: epoch)
        touch(slot: leafSlot, epoch: epoch)
        increment(slotOffset(leafSlot) + 4 * leafIndex)
    }

    /// Adds one to a 32-bit counter. On overflow every counter is halved first, so counts
    /// stay conserved (the total follows) and quantiles keep their meaning.
    @inlinable
    func increment(_ offset: Int) {
        let (next, overflow) = (load(offset) as UInt32).addingReportingOverflow(1)
        if overflow {
            halveCounts()   // sets the total to the halved sum, without this value
            store((load(offset) as UInt32) &+ 1, offset)
            store(count &+ 1, Layout.totalOffset)
        } else {
            store(next, offset)
        }
    }

    /// Empties every counter but keeps the layout: a histogram per flush window starts
    /// with the resolution the previous window found, so its quantiles are fine at once.
    /// The next adaptation pass is a full window away, or, while nothing is refined yet,
    /// the warm-up schedule starts again.
    public func resetCounts() {
        let windowCount = count
        if !isCompact { updateTailHints() }
        store(UInt64(0), Layout.totalOffset)
        store(UInt64.max, Layout.minOffset)
        store(UInt64(0), Layout.maxOffset)
        if isCompact {
            resetCompact(windowCount: windowCount)
            return
        }
        let refined = (0..<Layout.octaveCount).contains { level2Slot(ofOctave: $0) != nil }
        store(refined ? Layout.adaptInterval : Layout.adaptInterval(afterCount: 0), Layout.untilAdaptOffset)
        store(UInt32(0), Layout.clampedLowOffset)
        store(UInt32(0), Layout.clampedHighOffset)
        for octave in 0..<Layout.octaveCount { setOctaveCount(octave, 0) }
        for slot in 0..<slotCount {
            switch slotKind(slot) {
            case .level2?:
                for bucket in 0..<Layout.level2Fanout {
                    setCounter(slot, bucket, 0)
                    resetDetector(slot, bucket)
                }
            case .level3?:
                for bucket in 0..<Layout.level3Fanout { setCounter(slot, bucket, 0) }
            case .free?, nil:
                break
            }
        }
    }

    // MARK: Structure

    /// The level-2 slot refining `octave`, if any (a reference out of range reads as none).
    @inlinable
    func level2Slot(ofOctave octave: Int) -> Int? {
        let reference = Int(load(Layout.octaveGroupsOffset + octave) as UInt8)
        return reference == 0 || reference > slotCount ? nil : reference - 1
    }

    /// The level-3 slot refining `bucket` of level-2 slot `group`, if any.
    @inlinable
    func level3Slot(under group: Int, bucket: Int) -> Int? {
        let aux = auxWord(group, bucket)
        guard aux & Layout.splitBit != 0 else { return nil }
        let fine = Int(aux & 0xFF)
        return fine < slotCount ? fine : nil
    }

    @inlinable func slotOffset(_ slot: Int) -> Int { Layout.headerSize + slot * Layout.slotSize }

    func slotKind(_ slot: Int) -> SlotKind? {
        SlotKind(rawValue: (load(slotOffset(slot) + Layout.kindOffset) as UInt8) & 0x3)
    }

    func counter(_ slot: Int, _ index: Int) -> UInt32 { load(slotOffset(slot) + 4 * index) }
    func setCounter(_ slot: Int, _ index: Int, _ value: UInt32) { store(value, slotOffset(slot) + 4 * index) }
    @inlinable func auxWord(_ slot: Int, _ bucket: Int) -> UInt32 { load(slotOffset(slot) + Layout.auxOffset + 4 * bucket) }
    func setAuxWord(_ slot: Int, _ bucket: Int, _ value: UInt32) {
        store(value, slotOffset(slot) + Layout.auxOffset + 4 * bucket)
    }
    func octaveCount(_ octave: Int) -> UInt32 { load(Layout.octaveCountsOffset + 4 * octave) }
    func setOctaveCount(_ octave: Int, _ value: UInt32) { store(value, Layout.octaveCountsOffset + 4 * octave) }

    @inlinable func touch(slot: Int, epoch: UInt16) { store(epoch, slotOffset(slot) + Layout.lastUseOffset) }

    @inlinable @inline(__always) func load<T>(_ offset: Int) -> T { base.load(fromByteOffset: offset, as: T.self) }
    @inlinable @inline(__always) func store<T>(_ value: T, _ offset: Int) { base.storeBytes(of: value, toByteOffset: offset, as: T.self) }
}
