/// Columns the workload searches with LIKE/ILIKE patterns (`'%x%'`), which no B-tree
/// serves: a GIN index with pg_trgm's trigram operator class does. hypopg cannot model
/// it, so the bridge builds it on a shadow copy and keeps it only where it pays.
public enum TrigramIndexCandidates {
    public struct Column: Equatable, Sendable {
        public var table: String
        public var column: String
        /// Calls a day of the statements that search it by pattern.
        public var searchesPerDay: Double

        public init(table: String, column: String, searchesPerDay: Double) {
            self.table = table
            self.column = column
            self.searchesPerDay = searchesPerDay
        }
    }

    /// The replayed statements must run at least this many times faster with the index.
    public static let minimumSpeedup = 2.0

    /// The index for `column`, with `opclass` the schema-qualified gin_trgm_ops.
    public static func change(for column: Column, opclass: String) -> SchemaChange {
        let relation = SQLName.relation(of: column.table)
        let name = SQLName.plain([relation.trimmingQuotes, column.column.trimmingQuotes, "trgm"])
        return SchemaChange(
            kind: .createIndex, table: column.table, target: "\(column.table) USING gin (\(column.column) gin_trgm_ops)",
            action: .ginIndex(column: column.column, opclass: opclass, name: name),
            reason: "\(column.column) is searched by pattern \(Figures.whole(column.searchesPerDay)) times a day",
            estimatedBenefit: 0,
            facts: [("table", JSONText.string(column.table)), ("columns", "[" + JSONText.string(column.column) + "]"),
                    ("method", JSONText.string("gin")), ("opclass", JSONText.string(opclass)), ("include", "[]")])
    }

    /// The change with what its shadow simulation measured: `millisecondsPerDay` before
    /// and after (the replayed statements weighed by calls) and the index's bytes scaled
    /// to the whole table; nil when it does not pay.
    public static func measured(_ change: SchemaChange, millisecondsPerDayBefore before: Double,
                                millisecondsPerDayAfter after: Double, bytes: Double) -> SchemaChange? {
        guard before > 0, after >= 0, after * minimumSpeedup <= before else { return nil }
        let speedup = after > 0 ? before / after : .infinity
        return SchemaChange(
            kind: change.kind, table: change.table, target: change.target, action: change.action,
            reason: change.reason + ": a trigram index ran them \(speedup.isFinite ? Figures.whole(speedup) + "×" : "far") faster "
                + "on a sample, about \(Figures.megabytes(bytes))",
            estimatedBenefit: before - after,
            facts: change.facts + [("bytes", JSONText.number(bytes)), ("benefit_per_day", JSONText.number(before - after))])
    }
}
