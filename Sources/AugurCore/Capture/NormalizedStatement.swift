/// What the index advisor needs to know of a normalized statement text (constants
/// replaced by $n, as `augur.query` keeps it) to plan it again.
public enum NormalizedStatement {
    /// What a captured statement is, from its first keyword.
    public enum Kind: Equatable, Sendable {
        case select, update, delete, insert, other

        public init(_ text: String) {
            let word = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "(" }.prefix { $0.isLetter }.lowercased()
            switch word {
            case "select", "with", "table", "values": self = .select
            case "update": self = .update
            case "delete": self = .delete
            case "insert": self = .insert
            default: self = .other
            }
        }

        /// Whether an index can change its plan (an INSERT … VALUES only pays to maintain them).
        public var isPlannable: Bool { self == .select || self == .update || self == .delete }
    }

    /// Typed literals lose their quotes when normalized (`date '2026-01-01'` becomes
    /// `date $1`, which does not parse): written as casts (`$1::date`) they prepare.
    public static func castingTypedLiterals(_ text: String) -> String {
        let types: Set<String> = ["date", "time", "timestamp", "timestamptz", "interval", "numeric", "uuid", "json",
                                  "jsonb", "inet", "cidr", "bytea", "text", "int", "integer", "bigint", "smallint", "boolean"]
        var words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        while index + 1 < words.count {
            let parameter = words[index + 1]
            if types.contains(words[index].lowercased()), parameter.hasPrefix("$"),
               parameter.dropFirst().first?.isNumber == true {
                let digits = parameter.dropFirst().prefix { $0.isNumber }
                words[index] = "$\(digits)::\(words[index])" + parameter.dropFirst(1 + digits.count)
                words.remove(at: index + 1)
            }
            index += 1
        }
        return words.joined(separator: " ")
    }

    /// The highest $n in a normalized text.
    public static func parameterCount(_ text: String) -> Int {
        var highest = 0, digits = 0, afterDollar = false
        for scalar in text.unicodeScalars {
            if afterDollar, ("0"..."9").contains(scalar) {
                digits = min(digits * 10 + Int(scalar.value - 48), 65_535)
                continue
            }
            if afterDollar { highest = max(highest, digits) }
            afterDollar = scalar == "$"
            digits = 0
        }
        if afterDollar { highest = max(highest, digits) }
        return highest
    }

    /// The top plan node's "Total Cost" in EXPLAIN's JSON.
    public static func totalCost(ofExplainJSON json: String) -> Double? {
        firstNumber(named: "Total Cost", inExplainJSON: json)
    }

    /// The first number under `key` in EXPLAIN's JSON: a plan node's own keys come before
    /// its children's, so for a node's key it is the top node's ("Shared Hit Blocks" with
    /// BUFFERS: the whole plan's), and "Execution Time" is the statement's.
    public static func firstNumber(named key: String, inExplainJSON json: String) -> Double? {
        let key = Array("\"\(key)\": ".utf8), bytes = Array(json.utf8)
        guard let start = ByteSearch.firstOffset(of: key, in: bytes) else { return nil }
        let number = bytes[(start + key.count)...].prefix { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
        }
        return Double(String(decoding: number, as: UTF8.self))
    }

    /// A plan's shape in EXPLAIN's JSON, its nodes in order with the index each scans:
    /// "Limit > Index Scan (augur_jobs_state)". Two plans with the same shape do the same.
    public static func planShape(ofExplainJSON json: String) -> String {
        let bytes = Array(json.utf8)
        let nodeKey = Array("\"Node Type\": \"".utf8), indexKey = Array("\"Index Name\": \"".utf8)
        var nodes: [String] = []
        var index = 0
        while index < bytes.count {
            let key = [nodeKey, indexKey].first { key in
                index + key.count <= bytes.count && bytes[index..<(index + key.count)].elementsEqual(key)
            }
            guard let key else {
                index += 1
                continue
            }
            let start = index + key.count
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\"") { end += 1 }
            let value = String(decoding: bytes[start..<end], as: UTF8.self)
            if key == nodeKey {
                nodes.append(value)
            } else if let last = nodes.popLast() {
                nodes.append("\(last) (\(value))")
            }
            index = end
        }
        return nodes.joined(separator: " > ")
    }

    /// The statement a `PREPARE name [(types)] AS statement` prepares (what an EXECUTE of
    /// it runs, while its text is the PREPARE's); any other text as it is.
    public static func preparedBody(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func skipSpace() { while index < scalars.count, scalars[index].properties.isWhitespace { index += 1 } }
        func keyword(_ word: String) -> Bool {
            let letters = Array(word.unicodeScalars)
            guard index + letters.count < scalars.count,
                  zip(scalars[index..<(index + letters.count)], letters).allSatisfy({ String($0).lowercased() == String($1) }),
                  scalars[index + letters.count].properties.isWhitespace
            else { return false }
            index += letters.count
            return true
        }
        skipSpace()
        guard keyword("prepare") else { return text }
        skipSpace()
        if index < scalars.count, scalars[index] == "\"" {
            index += 1
            while index < scalars.count, scalars[index] != "\"" { index += 1 }
            index += 1
        } else {
            while index < scalars.count, scalars[index] == "_" || scalars[index].properties.isAlphabetic
                    || ("0"..."9").contains(scalars[index]) || scalars[index] == "$" { index += 1 }
        }
        skipSpace()
        if index < scalars.count, scalars[index] == "(" {
            var depth = 0
            while index < scalars.count {
                if scalars[index] == "(" { depth += 1 }
                if scalars[index] == ")" { depth -= 1 }
                index += 1
                if depth == 0 { break }
            }
        }
        skipSpace()
        guard keyword("as") else { return text }
        skipSpace()
        return String(String.UnicodeScalarView(scalars[index...]))
    }
}
