/// The text Augur keeps for a query: its constants replaced by `$n`, so no captured value
/// is stored. The server tells where the constants are (the query jumble) and how long
/// each is (its lexer); this does the replacement, tolerating bad positions.
public enum QueryNormalizer {
    public struct Constant: Equatable, Sendable {
        public var location: Int   // byte offset within the statement
        public var length: Int     // bytes; negative when unknown
        public init(location: Int, length: Int) {
            self.location = location
            self.length = length
        }
    }

    /// - Parameters:
    ///   - statement: the statement's UTF-8 bytes (one statement of the source string).
    ///   - firstParameter: the first free `$n` (after the statement's own parameters).
    public static func normalize(statement: [UInt8], constants: [Constant], firstParameter: Int) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(statement.count)
        var copied = 0
        var parameter = max(firstParameter, 1)
        for constant in constants.sorted(by: { $0.location < $1.location }) {
            // Skip unknown lengths, duplicates, overlaps and anything out of range.
            guard constant.length > 0, constant.location >= copied,
                  constant.location <= statement.count - constant.length else { continue }
            output.append(contentsOf: statement[copied..<constant.location])
            output.append(contentsOf: "$\(parameter)".utf8)
            parameter += 1
            copied = constant.location + constant.length
        }
        output.append(contentsOf: statement[copied...])
        return String(decoding: trimmed(output), as: UTF8.self)
    }

    private static func trimmed(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
              let last = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
        return bytes[first...last]
    }
}
