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
