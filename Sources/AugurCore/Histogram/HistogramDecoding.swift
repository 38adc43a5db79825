extension LatencyHistogram {
    /// A view of bytes from anywhere (a persisted snapshot, another process): checks the
    /// version and every invariant the other methods rely on, so nothing afterwards reads
    /// outside the buffer or follows a dangling reference. Throws `unknownVersion` for a
    /// layout this library does not know, `corrupt` when the bytes break version 1.
    public init(validating base: UnsafeMutableRawPointer, capacity: Int) throws {
        guard capacity >= 1 else { throw HistogramError.bufferTooSmall(bytes: capacity, minimum: HistogramLayout.headerSize) }
        let version = base.load(fromByteOffset: HistogramLayout.versionOffset, as: UInt8.self)
        if version == CompactLayout.version {
            guard capacity >= CompactLayout.headerSize else {
                throw HistogramError.bufferTooSmall(bytes: capacity, minimum: CompactLayout.headerSize)
            }
            guard Int(bitPattern: base) % 8 == 0 else { throw HistogramError.misaligned }
            self.base = base
            slotCount = 0
            compactCounters = Int(base.load(fromByteOffset: CompactLayout.counterCountOffset, as: UInt16.self))
            try checkCompactStructure(capacity: capacity)
            return
        }
        guard version == HistogramLayout.version else { throw HistogramError.unknownVersion(version) }
        guard capacity >= HistogramLayout.headerSize else {
            throw HistogramError.bufferTooSmall(bytes: capacity, minimum: HistogramLayout.headerSize)
        }
        guard Int(bitPattern: base) % 8 == 0 else { throw HistogramError.misaligned }
        let slots = Int(base.load(fromByteOffset: HistogramLayout.slotCountOffset, as: UInt8.self))
        guard HistogramLayout.headerSize + slots * HistogramLayout.slotSize <= capacity else {
            throw HistogramError.corrupt("\(slots) slots do not fit in \(capacity) bytes")
        }
        self.base = base
        slotCount = slots
        compactCounters = 0
        try checkStructure()
    }

    private func checkStructure() throws {
        typealias Layout = HistogramLayout
        var level2Seen = 0
        for octave in 0..<Layout.octaveCount {
            let reference = Int(load(Layout.octaveGroupsOffset + octave) as UInt8)
            guard reference != 0 else { continue }
            let group = reference - 1
            guard group < slotCount, slotKind(group) == .level2,
                  Int(load(slotOffset(group) + Layout.parentOffset) as UInt8) == octave else {
                throw HistogramError.corrupt("octave \(octave) refers to a slot that is not its level-2 group")
            }
            level2Seen += 1
        }
        var level3Seen = 0
        for slot in 0..<slotCount {
            let kindByte: UInt8 = load(slotOffset(slot) + Layout.kindOffset)
            guard let kind = slotKind(slot) else { throw HistogramError.corrupt("slot \(slot) has kind \(kindByte)") }
            switch kind {
            case .free:
                break
            case .level2:
                level2Seen -= 1
                for bucket in 0..<Layout.level2Fanout where auxWord(slot, bucket) & Layout.splitBit != 0 {
                    let fine = Int(auxWord(slot, bucket) & 0xFF)
                    let fineKind: UInt8 = fine < slotCount ? load(slotOffset(fine) + Layout.kindOffset) : 0
                    guard fine < slotCount, slotKind(fine) == .level3, Int(fineKind >> 4) & 7 == bucket,
                          Int(load(slotOffset(fine) + Layout.parentOffset) as UInt8) == slot else {
                        throw HistogramError.corrupt("slot \(slot) bucket \(bucket) refers to a slot that is not its child")
                    }
                    level3Seen += 1
                }
            case .level3:
                level3Seen -= 1
            }
        }
        guard level2Seen == 0, level3Seen == 0 else {
            throw HistogramError.corrupt("a group is not reachable from level 1 (or reachable twice)")
        }
        var sum: UInt64 = 0
        forEachCell(parentsFirst: true) { sum &+= $0.count; return true }
        guard sum == count else { throw HistogramError.corrupt("counters sum to \(sum), total says \(count)") }
        let untilAdapt: UInt16 = load(Layout.untilAdaptOffset)
        guard untilAdapt >= 1, untilAdapt <= Layout.adaptInterval else {
            throw HistogramError.corrupt("adaptation countdown \(untilAdapt) is out of range")
        }
    }
}

/// A histogram in a heap buffer it owns: for tests, merges in the worker, and decoding
/// persisted snapshots. Not for the hot path (the server's live histograms are views of
/// shared memory).
public final class HistogramBuffer {
    /// A view of this buffer's memory: valid only while the buffer lives. Use it inside
    /// the buffer's scope (`withExtendedLifetime(buffer)` when the buffer is a temporary).
    public let histogram: LatencyHistogram
    private let memory: UnsafeMutableRawPointer

    /// An empty histogram of `bytes` bytes (the `augur.histogram_bytes` budget).
    public init(bytes: Int) throws {
        guard bytes >= HistogramLayout.headerSize else {
            throw HistogramError.bufferTooSmall(bytes: bytes, minimum: HistogramLayout.headerSize)
        }
        memory = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 8)
        do { histogram = try LatencyHistogram(formatting: memory, capacity: bytes) } catch {
            memory.deallocate()
            throw error
        }
    }

    /// Reads `encoded` bytes (see `encoded`).
    public init(decoding encoded: [UInt8]) throws {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(encoded.count, 1), alignment: 8)
        encoded.withUnsafeBytes { bytes in
            if let source = bytes.baseAddress { memory.copyMemory(from: source, byteCount: bytes.count) }
        }
        self.memory = memory
        do { histogram = try LatencyHistogram(validating: memory, capacity: encoded.count) } catch {
            memory.deallocate()
            throw error
        }
    }

    deinit { memory.deallocate() }
}

extension LatencyHistogram {
    /// The histogram's bytes, version byte first: what is persisted.
    public var encoded: [UInt8] {
        Array(UnsafeRawBufferPointer(start: base, count: byteCount))
    }
}
