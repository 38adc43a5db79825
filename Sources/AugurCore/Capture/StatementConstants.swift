/// Which constant a captured statement compared a column with, read off its example
/// executions: the normalized text (`state = $2`) aligned with the text as it was sent
/// (`state = 'new'`, or `state = $1` with its bound parameters).
public enum StatementConstants {
    /// A partial index pays where the workload asks for one value of a column and that
    /// value is rare: at least this many example executions, ...
    public static let minimumExamples = 3
    /// ... this share of them with the same value, ...
    public static let dominantShare = 0.9
    /// ... and at most this share of the table's rows holding it.
    public static let maximumRowShare = 0.2

    /// The value that dominates `values` (the constants one column was compared with in
    /// the examples), nil if none does.
    public static func dominantValue(_ values: [String]) -> String? {
        guard values.count >= minimumExamples else { return nil }
        var counts: [String: Int] = [:]
        for value in values { counts[value, default: 0] += 1 }
        guard let (value, count) = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }),
              Double(count) >= dominantShare * Double(values.count) else { return nil }
        return value
    }

    /// The `$n` that `column` (as quote_ident writes it) is compared with by `=` in a
    /// normalized text: `column = $n`, `alias.column = $n` or `$n = column`; nil if none.
    public static func equalityParameter(of column: String, in text: String) -> Int? {
        let bytes = Array(text.utf8)
        for (start, end) in occurrences(of: column, in: bytes) {
            // column = $n
            var after = skipSpaces(bytes, end)
            if after < bytes.count, bytes[after] == UInt8(ascii: "="), after + 1 < bytes.count, bytes[after + 1] != UInt8(ascii: "=") {
                after = skipSpaces(bytes, after + 1)
                if let (number, _) = parameter(bytes, at: after) { return number }
            }
            // $n = column
            var before = start - 1
            while before >= 0, bytes[before] == UInt8(ascii: " ") { before -= 1 }
            if before >= 1, bytes[before] == UInt8(ascii: "="), !"<>!=".utf8.contains(bytes[before - 1]) {
                var digitsEnd = before - 1
                while digitsEnd >= 0, bytes[digitsEnd] == UInt8(ascii: " ") { digitsEnd -= 1 }
                var digitsStart = digitsEnd
                while digitsStart >= 0, isDigit(bytes[digitsStart]) { digitsStart -= 1 }
                if digitsStart >= 0, digitsStart < digitsEnd, bytes[digitsStart] == UInt8(ascii: "$"),
                   let (number, _) = parameter(bytes, at: digitsStart) { return number }
            }
        }
        return nil
    }

    /// The `$n` that `column` is matched with by LIKE in a normalized text (`column LIKE $n`,
    /// `column ~~ $n`); nil if none. (ILIKE is left out: a B-tree serves it only for a
    /// prefix without letters.)
    public static func patternParameter(of column: String, in text: String) -> Int? {
        let bytes = Array(text.utf8)
        for (_, end) in occurrences(of: column, in: bytes) {
            let after = skipSpaces(bytes, end)
            for operation in ["like", "~~"] {
                let word = Array(operation.utf8)
                guard after + word.count < bytes.count,
                      bytes[after..<(after + word.count)].map({ $0 | 0x20 }).elementsEqual(word),
                      !isIdentifier(bytes[after + word.count]) || operation == "~~" else { continue }
                if let (number, _) = parameter(bytes, at: skipSpaces(bytes, after + word.count)) { return number }
            }
        }
        return nil
    }

    /// Whether a LIKE pattern is anchored at its start (`'abc%'`): a B-tree in a pattern
    /// operator class (or in the C collation) serves it as a range scan of its prefix.
    public static func isPrefixPattern(_ pattern: String) -> Bool {
        guard let first = pattern.first else { return false }
        return first != "%" && first != "_" && first != "\\"
    }

    /// Where `column` (as quote_ident writes it) stands as a whole name in `bytes`, alone
    /// or qualified (`alias.column`): start and end offsets.
    private static func occurrences(of column: String, in bytes: [UInt8]) -> [(Int, Int)] {
        let name = Array(column.utf8)
        var found: [(Int, Int)] = [], from = 0
        while let start = ByteSearch.firstOffset(of: name, in: bytes, from: from) {
            from = start + 1
            let end = start + name.count
            guard start == 0 || !isIdentifier(bytes[start - 1]) || bytes[start - 1] == UInt8(ascii: "."),
                  end == bytes.count || !isIdentifier(bytes[end]) else { continue }
            found.append((start, end))
        }
        return found
    }

    /// The value each `$n` of `normalized` had in one execution: from `parameters` where
    /// the example has `$n` too, from the literal the example has in its place otherwise.
    /// Nil when the texts do not align (a different statement, a constant it cannot read).
    public static func values(normalized: String, example: String, parameters: [String]) -> [Int: String]? {
        let left = Array(normalized.utf8), right = Array(example.utf8)
        // The text as sent may be cut from a longer string: spaces around it differ.
        var i = skipSpaces(left, 0), j = skipSpaces(right, 0)
        var values: [Int: String] = [:]
        while i < left.count {
            if let (number, next) = parameter(left, at: i) {
                if let (sent, afterSent) = parameter(right, at: j) {
                    guard sent >= 1, sent <= parameters.count else { return nil }
                    values[number] = parameters[sent - 1]
                    j = afterSent
                } else {
                    guard let (literal, afterLiteral) = self.literal(right, at: j) else { return nil }
                    values[number] = literal
                    j = afterLiteral
                }
                i = next
                continue
            }
            guard j < right.count, left[i] == right[j] else { return nil }
            i += 1
            j += 1
        }
        while j < right.count, right[j] == UInt8(ascii: ";") || right[j] == UInt8(ascii: " ")
                || right[j] == UInt8(ascii: "\n") || right[j] == UInt8(ascii: "\t") { j += 1 }
        return j == right.count ? values : nil
    }

    /// `$digits` at `index`: its number and the index after it.
    private static func parameter(_ bytes: [UInt8], at index: Int) -> (Int, Int)? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "$") else { return nil }
        var end = index + 1, number = 0
        while end < bytes.count, isDigit(bytes[end]), number < 100_000 {
            number = number * 10 + Int(bytes[end] - UInt8(ascii: "0"))
            end += 1
        }
        return end > index + 1 ? (number, end) : nil
    }

    /// A constant as the server's lexer reads it: a quoted string ('' inside it is one
    /// quote), a number (with its sign), true or false. The value and the index after it.
    private static func literal(_ bytes: [UInt8], at index: Int) -> (String, Int)? {
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "'") {
            var value: [UInt8] = [], k = index + 1
            while k < bytes.count {
                if bytes[k] == UInt8(ascii: "'") {
                    if k + 1 < bytes.count, bytes[k + 1] == UInt8(ascii: "'") {
                        value.append(bytes[k])
                        k += 2
                        continue
                    }
                    return (String(decoding: value, as: UTF8.self), k + 1)
                }
                value.append(bytes[k])
                k += 1
            }
            return nil
        }
        var k = index
        if bytes[k] == UInt8(ascii: "-") { k += 1 }
        let digitsStart = k
        while k < bytes.count, isDigit(bytes[k]) || bytes[k] == UInt8(ascii: ".") || bytes[k] == UInt8(ascii: "e")
                || bytes[k] == UInt8(ascii: "E") || ((bytes[k] == UInt8(ascii: "+") || bytes[k] == UInt8(ascii: "-"))
                                                     && (bytes[k - 1] == UInt8(ascii: "e") || bytes[k - 1] == UInt8(ascii: "E"))) {
            k += 1
        }
        if k > digitsStart, isDigit(bytes[digitsStart]) || bytes[digitsStart] == UInt8(ascii: ".") {
            return (String(decoding: bytes[index..<k], as: UTF8.self), k)
        }
        for word in ["true", "false"] {
            let letters = Array(word.utf8)
            if index + letters.count <= bytes.count,
               bytes[index..<(index + letters.count)].map({ $0 | 0x20 }).elementsEqual(letters),
               index + letters.count == bytes.count || !isIdentifier(bytes[index + letters.count]) {
                return (word, index + letters.count)
            }
        }
        return nil
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func isIdentifier(_ byte: UInt8) -> Bool {
        isDigit(byte) || byte == UInt8(ascii: "_") || byte >= 0x80
            || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z")) || byte == UInt8(ascii: "\"")
    }

    private static func skipSpaces(_ bytes: [UInt8], _ index: Int) -> Int {
        var k = index
        while k < bytes.count, bytes[k] == UInt8(ascii: " ") || bytes[k] == UInt8(ascii: "\n") || bytes[k] == UInt8(ascii: "\t") { k += 1 }
        return k
    }
}
