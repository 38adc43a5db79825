/// A value read from a query result, decoded from PostgreSQL's text form by column type.
/// Types without a Swift counterpart here (numeric, timestamps, arrays, ...) stay text,
/// so nothing is lost or rounded.
public enum SQLValue: Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case text(String)

    /// Type OIDs as fixed in PostgreSQL's catalog (pg_type.dat); stable across releases.
    private static let boolOID: UInt32 = 16
    private static let integerOIDs: Set<UInt32> = [20, 21, 23, 26]   // int8, int2, int4, oid
    private static let floatOIDs: Set<UInt32> = [700, 701]           // float4, float8

    /// Decodes `text` (nil for SQL NULL) of a column of type `typeOID`. A text form that
    /// does not parse as its type stays text rather than failing.
    public init(textForm text: String?, typeOID: UInt32) {
        guard let text else {
            self = .null
            return
        }
        if typeOID == Self.boolOID, text == "t" || text == "f" {
            self = .bool(text == "t")
        } else if Self.integerOIDs.contains(typeOID), let value = Int64(text) {
            self = .int(value)
        } else if Self.floatOIDs.contains(typeOID), let value = Double(text) {
            self = .double(value)
        } else {
            self = .text(text)
        }
    }

    public var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    public var int: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// A number as a Double (integers included).
    public var double: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        default: nil
        }
    }

    /// SQL-literal-like rendering: NULL, true, 42, 1.5, 'it''s'.
    public var description: String {
        switch self {
        case .null: "NULL"
        case .bool(let value): value ? "true" : "false"
        case .int(let value): String(value)
        case .double(let value): value.description
        case .text(let value): "'" + value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
        }
    }
}
