/// Join-aggregate statements that recur with a high total time over sources that change
/// rarely: kept as a materialized view, each call reads the stored result, and the work
/// is paid once per refresh instead.
public enum MaterializedViewCandidates {
    public struct Source: Equatable, Sendable {
        public var table: String
        public var rows: Double
        /// Rows inserted, updated or deleted a day.
        public var writtenRowsPerDay: Double

        public init(table: String, rows: Double, writtenRowsPerDay: Double) {
            self.table = table
            self.rows = rows
            self.writtenRowsPerDay = writtenRowsPerDay
        }
    }

    public struct Statement: Equatable, Sendable {
        public var queryid: Int64
        /// The statement as it runs, with its constants (a view cannot take parameters).
        public var text: String
        public var callsPerDay: Double
        public var meanMilliseconds: Double
        public var joins: Bool
        public var groups: Bool
        public var sources: [Source]

        public init(queryid: Int64, text: String, callsPerDay: Double, meanMilliseconds: Double, joins: Bool,
                    groups: Bool, sources: [Source]) {
            self.queryid = queryid
            self.text = text
            self.callsPerDay = callsPerDay
            self.meanMilliseconds = meanMilliseconds
            self.joins = joins
            self.groups = groups
            self.sources = sources
        }
    }

    /// Below a minute of execution a day a view is not worth keeping.
    public static let minimumMillisecondsPerDay = 60_000.0
    /// Sources changing more than this share of their rows a day change too often.
    public static let maximumDailyChurn = 0.1

    public static func advise(_ statement: Statement) -> SchemaChange? {
        guard statement.joins, statement.groups, let first = statement.sources.first,
              statement.meanMilliseconds > 0, statement.callsPerDay > 0 else { return nil }
        let rows = statement.sources.reduce(0) { $0 + $1.rows }
        let written = statement.sources.reduce(0) { $0 + $1.writtenRowsPerDay }
        let churn = rows > 0 ? written / rows : (written > 0 ? 1 : 0)
        let perDay = statement.callsPerDay * statement.meanMilliseconds
        // Refreshed hourly while the sources change, daily when they do not: each refresh
        // costs about one run of the statement.
        let refreshesPerDay: Double = written > 0 ? 24 : 1
        let saved = perDay - refreshesPerDay * statement.meanMilliseconds
        guard perDay >= minimumMillisecondsPerDay, churn <= maximumDailyChurn,
              statement.callsPerDay >= 2 * refreshesPerDay, saved > 0 else { return nil }
        let name = SQLName.plain(["mv", String(statement.queryid)])
        let query = statement.text.trimmingTrailingSemicolons
        return SchemaChange(
            kind: .materializedView, table: first.table, target: "\(first.schemaOfTable).\(name)",
            action: .materialize(name: name, query: query, sources: statement.sources.map(\.table),
                                 queryid: statement.queryid, callsPerDay: statement.callsPerDay),
            reason: "query \(statement.queryid) joins and aggregates \(statement.sources.count) tables "
                + "\(Figures.whole(statement.callsPerDay)) times a day (\(Figures.whole(perDay / 1000)) s a day); "
                + "its sources change \(Figures.whole(churn * 100))% a day, so a view refreshed "
                + "\(refreshesPerDay == 24 ? "hourly" : "daily") saves about \(Figures.whole(saved / 1000)) s a day",
            estimatedBenefit: saved,
            facts: [("table", JSONText.string(first.table)), ("queryid", String(statement.queryid)),
                    ("sources", "[" + statement.sources.map { JSONText.string($0.table) }.joined(separator: ",") + "]"),
                    ("calls_per_day", JSONText.number(statement.callsPerDay)),
                    ("mean_ms", JSONText.number(statement.meanMilliseconds)),
                    ("daily_churn", JSONText.number(churn)), ("refreshes_per_day", JSONText.number(refreshesPerDay)),
                    ("ms_saved_per_day_estimate", JSONText.number(saved))])
    }
}

private extension MaterializedViewCandidates.Source {
    var schemaOfTable: String { SQLName.schema(of: table) }
}

private extension String {
    var trimmingTrailingSemicolons: String {
        var text = Substring(self)
        while let last = text.last, last == ";" || last == " " || last == "\n" || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
