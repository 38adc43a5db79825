/// Text columns with few distinct values, each stored again in every row: as an enum,
/// a value takes 4 bytes, is checked on write, and still reads, compares and sorts as
/// before (the labels are declared in the column's sort order).
public enum EnumCandidates {
    public struct Column: Equatable, Sendable {
        public var table: String
        public var column: String
        /// format_type of the column: text, character varying(…).
        public var type: String
        public var rows: Double
        public var averageWidth: Double
        /// Every distinct non-NULL value, in the column's sort order (the bridge reads them
        /// only where statistics promise few).
        public var values: [String]

        public init(table: String, column: String, type: String, rows: Double, averageWidth: Double, values: [String]) {
            self.table = table
            self.column = column
            self.type = type
            self.rows = rows
            self.averageWidth = averageWidth
            self.values = values
        }
    }

    /// At most this many labels: beyond it the set is a dictionary, not an enum.
    public static let maximumValues = 64
    /// Rows below which the saving is not worth a type.
    public static let minimumRows = 10_000.0
    /// Average bytes a value must take (an enum takes 4) for the saving to be worth one.
    public static let minimumWidth = 6.0

    public static func advise(_ column: Column) -> SchemaChange? {
        guard column.type == "text" || column.type.hasPrefix("character varying"),
              column.rows >= minimumRows, (2...maximumValues).contains(column.values.count),
              column.averageWidth >= minimumWidth,
              // A label is at most NAMEDATALEN - 1 bytes, and an empty one is not allowed.
              column.values.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63 })
        else { return nil }
        let saved = column.rows * (column.averageWidth - 4)
        let relation = SQLName.relation(of: column.table)
        let typeName = SQLName.plain([relation.trimmingQuotes, column.column.trimmingQuotes])
        return SchemaChange(
            kind: .textToEnum, table: column.table, target: "\(column.table).\(column.column)",
            action: .enumerate(column: column.column, from: column.type, typeName: typeName, values: column.values),
            reason: "\(column.column) holds \(column.values.count) distinct values in \(Figures.whole(column.rows)) rows: "
                + "as an enum about \(Figures.megabytes(saved)) less, and a new value needs ALTER TYPE … ADD VALUE",
            estimatedBenefit: saved,
            facts: [("table", JSONText.string(column.table)), ("column", JSONText.string(column.column)),
                    ("from", JSONText.string(column.type)), ("values", "[" + column.values.map(JSONText.string).joined(separator: ",") + "]"),
                    ("rows", JSONText.number(column.rows)), ("bytes_saved_estimate", JSONText.number(saved))])
    }
}

extension String {
    /// Without the double quotes of a quoted identifier.
    var trimmingQuotes: String {
        hasPrefix("\"") && hasSuffix("\"") && count >= 2 ? String(dropFirst().dropLast()) : self
    }
}
