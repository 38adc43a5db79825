/// How a query uses a column. The bits are the shim's AUGUR_ROLE_* (augur_shim.h); the
/// names are what `augur.column_use.roles` stores.
public struct ColumnRoles: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let projected = ColumnRoles(rawValue: 1 << 0)
    public static let filterEquality = ColumnRoles(rawValue: 1 << 1)
    public static let filterRange = ColumnRoles(rawValue: 1 << 2)
    public static let filterPattern = ColumnRoles(rawValue: 1 << 3)
    public static let filterIn = ColumnRoles(rawValue: 1 << 4)
    public static let filterNull = ColumnRoles(rawValue: 1 << 5)
    public static let filterOther = ColumnRoles(rawValue: 1 << 6)
    public static let joinKey = ColumnRoles(rawValue: 1 << 7)
    public static let grouped = ColumnRoles(rawValue: 1 << 8)
    public static let ordered = ColumnRoles(rawValue: 1 << 9)
    public static let written = ColumnRoles(rawValue: 1 << 10)

    /// In byte order of the names, the order `augur.column_use.roles` keeps them in.
    private static let named: [(ColumnRoles, String)] = [
        (.filterEquality, "filter_equality"), (.filterIn, "filter_in"), (.filterNull, "filter_null"),
        (.filterOther, "filter_other"), (.filterPattern, "filter_pattern"), (.filterRange, "filter_range"),
        (.grouped, "grouped"), (.joinKey, "join_key"), (.ordered, "ordered"), (.projected, "projected"),
        (.written, "written"),
    ]

    /// The roles' names in byte order; unknown bits are ignored.
    public var names: [String] {
        Self.named.filter { contains($0.0) }.map(\.1)
    }
}
