/// Columns whose type is wider or looser than their data: a bigint whose values and
/// growth fit integer for years, a numeric that only ever holds integers, text that only
/// ever holds timestamps or numbers.
public enum TypeNarrowing {
    /// What the data says of one column (the bridge checks values with a scan of the
    /// table, so a fit is exact, not a sample's).
    public struct Column: Equatable, Sendable {
        public enum Content: String, Sendable {
            case timestamp = "timestamptz"
            case number = "numeric"
        }

        public var table: String
        public var column: String
        /// format_type of the column: bigint, numeric, text, character varying(…).
        public var type: String
        public var rows: Double
        /// Average stored width in bytes (pg_stats.avg_width).
        public var averageWidth: Double
        /// Smallest and largest value, for bigint and integral numeric columns.
        public var minimum: Double?
        public var maximum: Double?
        /// A numeric column: whether every value is an integer.
        public var integral: Bool
        /// A text column: what every non-NULL value parses as, if anything.
        public var textContent: Content?
        /// How fast the largest value grows a day (0 if it does not).
        public var growthPerDay: Double
        /// augur.type_history shows it was widened to its type: a DBA's decision to respect.
        public var widenedBefore: Bool
        /// Part of a foreign key either way: both ends would have to change together.
        public var inForeignKey: Bool

        public init(table: String, column: String, type: String, rows: Double, averageWidth: Double,
                    minimum: Double? = nil, maximum: Double? = nil, integral: Bool = false,
                    textContent: Content? = nil, growthPerDay: Double = 0, widenedBefore: Bool = false,
                    inForeignKey: Bool = false) {
            self.table = table
            self.column = column
            self.type = type
            self.rows = rows
            self.averageWidth = averageWidth
            self.minimum = minimum
            self.maximum = maximum
            self.integral = integral
            self.textContent = textContent
            self.growthPerDay = growthPerDay
            self.widenedBefore = widenedBefore
            self.inForeignKey = inForeignKey
        }
    }

    static let integerRange = -2_147_483_648.0...2_147_483_647.0
    static let bigintRange = -9.2e18...9.2e18

    /// The narrowing this column deserves, nil if none: the type must hold every value
    /// now and, at the current growth, for `horizonDays` more.
    public static func advise(_ column: Column, horizonDays: Double = 5 * 365) -> SchemaChange? {
        guard !column.widenedBefore, !column.inForeignKey, column.rows > 0 else { return nil }
        let target: (type: String, bytes: Double, cast: Bool, why: String)
        switch column.type {
        case "bigint":
            guard let years = yearsOfHeadroom(column, in: integerRange, horizonDays: horizonDays) else { return nil }
            target = ("integer", 4, false, "its values (\(range(column))) fit integer, \(years)")
        case _ where column.type.hasPrefix("numeric"):
            guard column.integral else { return nil }
            if let years = yearsOfHeadroom(column, in: integerRange, horizonDays: horizonDays) {
                target = ("integer", 4, true, "it only holds integers (\(range(column))), which fit integer, \(years)")
            } else if let years = yearsOfHeadroom(column, in: bigintRange, horizonDays: horizonDays) {
                target = ("bigint", 8, true, "it only holds integers (\(range(column))), which fit bigint, \(years)")
            } else {
                return nil
            }
        case _ where column.type == "text" || column.type.hasPrefix("character varying"):
            guard let content = column.textContent else { return nil }
            let bytes: Double = content == .timestamp ? 8 : column.averageWidth
            target = (content.rawValue, bytes, true,
                      "every value is a \(content == .timestamp ? "timestamp" : "number") written as text: "
                          + "typed, it compares, sorts and is checked as one")
        default:
            return nil
        }
        let saved = max(column.rows * (column.averageWidth - target.bytes), 0)
        return SchemaChange(
            kind: .narrowType, table: column.table, target: "\(column.table).\(column.column)",
            action: .retype(column: column.column, from: column.type, to: target.type, cast: target.cast),
            reason: "\(column.column) \(column.type) → \(target.type): \(target.why); about \(Figures.megabytes(saved)) less",
            estimatedBenefit: saved,
            facts: [("table", JSONText.string(column.table)), ("column", JSONText.string(column.column)),
                    ("from", JSONText.string(column.type)), ("to", JSONText.string(target.type)),
                    ("rows", JSONText.number(column.rows)), ("minimum", column.minimum.map(JSONText.number) ?? "null"),
                    ("maximum", column.maximum.map(JSONText.number) ?? "null"),
                    ("growth_per_day", JSONText.number(column.growthPerDay)),
                    ("bytes_saved_estimate", JSONText.number(saved))])
    }

    /// "for at least N more years at its growth" (or "and it does not grow"), nil when the
    /// values do not fit or would outgrow the range within the horizon.
    static func yearsOfHeadroom(_ column: Column, in range: ClosedRange<Double>, horizonDays: Double) -> String? {
        guard let minimum = column.minimum, let maximum = column.maximum,
              range.contains(minimum), range.contains(maximum) else { return nil }
        guard column.growthPerDay > 0 else { return "and it does not grow" }
        let days = (range.upperBound - maximum) / column.growthPerDay
        guard days >= horizonDays else { return nil }
        return "for \(days >= 36_500 ? "over 100" : String(Int(days / 365))) more years at its growth"
    }

    private static func range(_ column: Column) -> String {
        "\(Figures.whole(column.minimum ?? 0)) to \(Figures.whole(column.maximum ?? 0))"
    }
}
