/// Large tables whose statements mostly filter one time column by range: partitioned by
/// range on it, a statement reads only the partitions its range touches, and old data
/// leaves with DROP/DETACH PARTITION instead of DELETE. The skew of the data over the
/// partitions (from pg_stats' histogram) says whether one partition would be hot.
public enum PartitionCandidates {
    public struct TimeColumn: Equatable, Sendable {
        public var column: String
        /// Calls a day of statements that filter the table by a range of this column.
        public var rangeFilteredCallsPerDay: Double
        /// From the smallest to the largest value.
        public var spanSeconds: Double

        public init(column: String, rangeFilteredCallsPerDay: Double, spanSeconds: Double) {
            self.column = column
            self.rangeFilteredCallsPerDay = rangeFilteredCallsPerDay
            self.spanSeconds = spanSeconds
        }
    }

    public struct Table: Equatable, Sendable {
        public var table: String
        public var rows: Double
        public var bytes: Double
        /// Calls a day of every statement that reads the table.
        public var readCallsPerDay: Double
        public var timeColumns: [TimeColumn]

        public init(table: String, rows: Double, bytes: Double, readCallsPerDay: Double, timeColumns: [TimeColumn]) {
            self.table = table
            self.rows = rows
            self.bytes = bytes
            self.readCallsPerDay = readCallsPerDay
            self.timeColumns = timeColumns
        }
    }

    /// The column and the interval to partition by, before the bounds are known.
    public struct Plan: Equatable, Sendable {
        public var table: Table
        public var column: TimeColumn
        /// A PostgreSQL interval and date_trunc unit: year, month, week or day.
        public var interval: String
    }

    /// At least this many partitions, or partitioning buys little pruning.
    public static let minimumPartitions = 8.0
    /// A partition holding this many times its even share is hot.
    public static let hotShareFactor = 3.0

    private static let intervals: [(name: String, seconds: Double)] = [
        ("year", 365.25 * 86_400), ("month", 30.44 * 86_400), ("week", 7 * 86_400), ("day", 86_400),
    ]

    /// The time column most of the table's reads filter by range (at least half of
    /// them), and the largest interval that cuts its span into at least 8 partitions.
    public static func plan(_ table: Table, minimumBytes: Double) -> Plan? {
        guard table.bytes >= minimumBytes, table.readCallsPerDay > 0,
              let column = table.timeColumns.max(by: { $0.rangeFilteredCallsPerDay < $1.rangeFilteredCallsPerDay }),
              column.rangeFilteredCallsPerDay >= table.readCallsPerDay / 2,
              let interval = intervals.first(where: { column.spanSeconds / $0.seconds >= minimumPartitions })
        else { return nil }
        return Plan(table: table, column: column, interval: interval.name)
    }

    /// The advice for a plan, given its partition bounds (SQL literals, ascending) and the
    /// share of the table's rows that would fall in each partition.
    public static func advise(_ plan: Plan, bounds: [String], shares: [Double]) -> SchemaChange? {
        let partitions = bounds.count - 1
        guard partitions >= Int(minimumPartitions), shares.count == partitions else { return nil }
        let largest = shares.max() ?? 0
        let evenShare = 1 / Double(partitions)
        let hot = largest > hotShareFactor * evenShare
        let table = plan.table, column = plan.column
        let pruning = column.rangeFilteredCallsPerDay / table.readCallsPerDay
        return SchemaChange(
            kind: .partition, table: table.table, target: table.table,
            action: .partition(column: column.column, interval: plan.interval, bounds: bounds),
            reason: "\(Figures.whole(pruning * 100))% of the reads of \(table.table) (\(Figures.megabytes(table.bytes))) "
                + "filter \(column.column) by range: \(partitions) \(plan.interval)ly partitions let them skip the others"
                + (hot ? "; but the largest would hold \(Figures.whole(largest * 100))% of the rows, a hot partition"
                       : "; the largest would hold \(Figures.whole(largest * 100))% of the rows"),
            estimatedBenefit: column.rangeFilteredCallsPerDay,
            facts: [("table", JSONText.string(table.table)), ("column", JSONText.string(column.column)),
                    ("interval", JSONText.string(plan.interval)), ("partitions", String(partitions)),
                    ("table_bytes", JSONText.number(table.bytes)), ("range_filtered_share", JSONText.number(pruning)),
                    ("largest_partition_share", JSONText.number(largest)), ("hot_partition", hot ? "true" : "false")])
    }
}
