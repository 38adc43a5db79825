/// `augur.index_budget`: the storage index advice may spend, a size as `pg_size_bytes`
/// reads it ('2GB', '500 MB', '1.5e3kB') or a share of the database's size ('10%').
/// Checked when it is set, so that a bad value fails at SET with 22023, not later inside
/// the advice.
public enum IndexBudget: Equatable, Sendable {
    case bytes(Double)
    /// Percent of the database's size, in (0, 1000].
    case percentOfDatabase(Double)

    public struct ParseError: Error, Equatable, Sendable {
        public let message: String
        public let hint = "Use a size such as '2GB' or a percentage of the database size such as '10%'."
    }

    /// pg_size_bytes' units, lower-cased, with their factors.
    private static let units: [String: Double] = [
        "": 1, "b": 1, "bytes": 1, "kb": 1024, "mb": 1024 * 1024, "gb": 1024 * 1024 * 1024,
        "tb": 1024 * 1024 * 1024 * 1024, "pb": 1024 * 1024 * 1024 * 1024 * 1024,
    ]

    public init(parsing text: String) throws(ParseError) {
        let trimmed = Self.trimmed(Substring(text))
        if trimmed.hasSuffix("%") {
            guard let percent = Self.number(Self.trimmed(trimmed.dropLast())), percent > 0, percent <= 1000 else {
                throw ParseError(message: "index budget \"\(text)\" is not a percentage in (0%, 1000%]")
            }
            self = .percentOfDatabase(percent)
            return
        }
        let numberEnd = trimmed.firstIndex { !($0.isNumber || "+-.eE".contains($0)) } ?? trimmed.endIndex
        // An exponent's "e" may also start a unit ("1e" is not a number, "1eb" no unit).
        guard let number = Self.number(trimmed[..<numberEnd]),
              let factor = Self.units[Self.trimmed(trimmed[numberEnd...]).lowercased()] else {
            throw ParseError(message: "index budget \"\(text)\" is neither a size nor a percentage")
        }
        guard number >= 0 else { throw ParseError(message: "index budget \"\(text)\" must not be negative") }
        let bytes = number * factor
        // pg_size_bytes' limit: a bigint.
        guard bytes < 0x1p63 else { throw ParseError(message: "index budget \"\(text)\" is too large") }
        self = .bytes(bytes)
    }

    /// The budget in bytes for a database of `databaseBytes`.
    public func bytes(databaseBytes: Double) -> Double {
        switch self {
        case .bytes(let bytes): bytes
        case .percentOfDatabase(let percent): databaseBytes * percent / 100
        }
    }

    /// A decimal number: digits with an optional fraction and exponent (no "nan", "inf"
    /// or hexadecimal, which Double's parser would take).
    private static func number(_ text: Substring) -> Double? {
        guard let first = text.first, first.isNumber || "+-.".contains(first),
              text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
              text.contains(where: \.isNumber) else { return nil }
        return Double(text).flatMap { $0.isFinite ? $0 : nil }
    }

    private static func trimmed(_ text: Substring) -> Substring {
        let start = text.firstIndex { !$0.isWhitespace } ?? text.endIndex
        let end = text.lastIndex { !$0.isWhitespace }.map { text.index(after: $0) } ?? start
        return text[start..<max(start, end)]
    }
}
