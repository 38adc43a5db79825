/// Where a key goes when a plan has no explicit placement for it (a key never seen): jump
/// consistent hashing (Lamping and Veach, 2014) of a stable hash of the key's text, so that
/// going from n to n + 1 nodes moves only 1/(n + 1) of those keys, all to the new node.
public enum ConsistentPlacement {
    /// The node, 0..<nodes, of a key's hash.
    public static func node(ofHash hash: UInt64, nodes: Int) -> Int {
        guard nodes > 1 else { return 0 }
        let buckets = Int64(min(nodes, Int(Int32.max)))
        var key = hash
        var bucket: Int64 = -1
        var next: Int64 = 0
        while next < buckets {
            bucket = next
            key = key &* 2_862_933_555_777_941_757 &+ 1
            next = Int64(Double(bucket + 1) * (Double(Int64(1) << 31) / Double((key >> 33) + 1)))
        }
        return Int(bucket)
    }

    /// A stable 64-bit hash of a key's text, the same on every node and in every run
    /// (Swift's own hashing is seeded per process): FNV-1a, then SplitMix64's finaliser so
    /// that keys differing in their last byte spread over all buckets.
    public static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return SplitMix64.mix(hash)
    }
}
