/// Finding bytes in UTF-8 text, without Foundation.
public enum ByteSearch {
    /// Where `needle` first occurs in `haystack` at or after `start`; nil if nowhere.
    public static func firstOffset(of needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard !needle.isEmpty, start >= 0, haystack.count - start >= needle.count else { return nil }
        return (start...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
