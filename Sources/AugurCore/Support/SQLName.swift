/// Names and literals of SQL text, as the schema advisors write DDL. Names arrive already
/// quoted where needed (quote_ident), as `schema.relation`.
public enum SQLName {
    /// The schema part of `schema.relation` ("public" when there is none).
    public static func schema(of qualified: String) -> String {
        split(qualified).schema
    }

    /// The relation part of `schema.relation`.
    public static func relation(of qualified: String) -> String {
        split(qualified).relation
    }

    /// A quoted name with `suffix` appended inside its quotes, within 63 bytes.
    public static func suffixed(_ name: String, _ suffix: String) -> String {
        let quoted = name.hasPrefix("\"") && name.hasSuffix("\"") && name.count >= 2
        let bare = quoted ? String(name.dropFirst().dropLast()) : name
        let kept = String(decoding: bare.utf8.prefix(63 - suffix.utf8.count), as: UTF8.self)
            .replacingDecodingErrors()
        return quoted ? "\"\(kept)\(suffix)\"" : kept + suffix
    }

    /// A single-quoted SQL literal.
    public static func literal(_ value: String) -> String {
        "'" + value.replacingQuotes() + "'"
    }

    /// `augur_<words>`: lower-case letters, digits and underscores, within 63 bytes, a
    /// name that never needs quotes.
    public static func plain(_ words: [String]) -> String {
        let raw = (["augur"] + words).joined(separator: "_").lowercased()
        let cleaned = String(raw.unicodeScalars.map { scalar -> Character in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        })
        return String(cleaned.prefix(63))
    }

    /// Splits at the first dot outside double quotes.
    private static func split(_ qualified: String) -> (schema: String, relation: String) {
        var inQuotes = false
        for index in qualified.indices {
            let character = qualified[index]
            if character == "\"" { inQuotes.toggle() }
            if character == ".", !inQuotes {
                return (String(qualified[..<index]), String(qualified[qualified.index(after: index)...]))
            }
        }
        return ("public", qualified)
    }
}

private extension String {
    func replacingQuotes() -> String {
        var out = ""
        for character in self { out += character == "'" ? "''" : String(character) }
        return out
    }

    /// Drops a trailing partial UTF-8 sequence left by a byte prefix (shown as U+FFFD).
    func replacingDecodingErrors() -> String {
        var scalars = unicodeScalars
        while scalars.last == "\u{FFFD}" { scalars.removeLast() }
        return String(scalars)
    }
}
