/// PostgreSQL array literals, for passing many values as one text parameter
/// (`$1::bigint[]`) to a single set-based statement.
public enum PostgresArray {
    /// `{"a","b \"quoted\"",NULL}`: every element double-quoted with `\` and `"` escaped,
    /// so any text survives; nil becomes an unquoted NULL.
    public static func literal(_ elements: [String?]) -> String {
        var literal = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { literal += "," }
            guard let element else {
                literal += "NULL"
                continue
            }
            literal += "\""
            for character in element.unicodeScalars {
                if character == "\\" || character == "\"" { literal += "\\" }
                literal.unicodeScalars.append(character)
            }
            literal += "\""
        }
        return literal + "}"
    }
}
