/// PostgreSQL array literals, for passing many values as one text parameter
/// (`$1::bigint[]`) to a single set-based statement.
public enum PostgresArray {
    /// `{"a","b \"quoted\"",NULL}`: every element double-quoted with `\` and `"` escaped,
    /// so any text survives; nil becomes an unquoted NULL.
    public static func literal(_ elements: [String?]) -> String {
        // Built as UTF-8 bytes: a flush passes thousands of elements, and appending
        // unicode scalars one at a time was a sixth of its time.
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(2 + elements.count * 8)
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let element else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The elements of a one-dimensional array's text form (`{a,"b c",NULL}`): quoted ones
    /// unescaped, an unquoted NULL as nil. Malformed input gives what was read so far.
    public static func elements(_ literal: String) -> [String?] {
        let scalars = Array(literal.unicodeScalars)
        guard scalars.first == "{" else { return [] }
        var elements: [String?] = []
        var index = 1
        while index < scalars.count, scalars[index] != "}" {
            var element = String.UnicodeScalarView()
            if scalars[index] == "\"" {
                index += 1
                while index < scalars.count, scalars[index] != "\"" {
                    if scalars[index] == "\\", index + 1 < scalars.count { index += 1 }
                    element.append(scalars[index])
                    index += 1
                }
                index += 1
                elements.append(String(element))
            } else {
                while index < scalars.count, scalars[index] != ",", scalars[index] != "}" {
                    element.append(scalars[index])
                    index += 1
                }
                let text = String(element)
                elements.append(text == "NULL" ? nil : text)
            }
            if index < scalars.count, scalars[index] == "," { index += 1 }
        }
        return elements
    }
}
