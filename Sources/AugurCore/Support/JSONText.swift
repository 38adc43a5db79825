/// JSON text without Foundation, for results handed to SQL as `jsonb`.
public enum JSONText {
    /// A JSON string literal (RFC 8259): quotes, backslashes and control characters escaped.
    public static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A JSON number, whole ones without a fraction (4, not 4.0); non-finite values, which
    /// JSON cannot hold, become null.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        return value == value.rounded() && abs(value) < 9e15 ? String(Int64(value)) : value.description
    }

    /// An object given as (key, already-encoded value) pairs.
    public static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }

    /// An array of objects, each given as (key, already-encoded value) pairs.
    public static func array(of objects: [[(String, String)]]) -> String {
        "[" + objects.map(object).joined(separator: ", ") + "]"
    }
}
