/// Large tables whose reads mostly filter one column, partitioned on it so that a read
/// touches only its partitions: by RANGE on a time column filtered by range (old data
/// then leaves with DROP/DETACH PARTITION instead of DELETE), else by LIST on a key with
/// few values or by HASH on a key with many, filtered by equality. The skew of the rows
/// over the partitions (pg_stats' histogram and most common values) says whether one
/// partition would be hot.
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

    public struct KeyColumn: Equatable, Sendable {
        public var column: String
        /// Calls a day of statements that filter the table by equality on this column.
        public var equalityFilteredCallsPerDay: Double
        public var distinct: Double
        /// pg_stats' most common values (SQL literals) and their shares of the rows.
        public var commonValues: [String]
        public var commonShares: [Double]
        /// The values the sampled transactions used most (SQL literals) and their shares of
        /// those transactions: where the reads go, as the rows' shares say where the data is.
        public var readValues: [String]
        public var readShares: [Double]

        public init(column: String, equalityFilteredCallsPerDay: Double, distinct: Double, commonValues: [String],
                    commonShares: [Double], readValues: [String] = [], readShares: [Double] = []) {
            self.column = column
            self.equalityFilteredCallsPerDay = equalityFilteredCallsPerDay
            self.distinct = distinct
            self.commonValues = commonValues
            self.commonShares = commonShares
            self.readValues = readValues
            self.readShares = readShares
        }
    }

    public struct Table: Equatable, Sendable {
        public var table: String
        public var rows: Double
        public var bytes: Double
        /// Calls a day of every statement that reads the table.
        public var readCallsPerDay: Double
        public var timeColumns: [TimeColumn]
        public var keyColumns: [KeyColumn]

        public init(table: String, rows: Double, bytes: Double, readCallsPerDay: Double, timeColumns: [TimeColumn],
                    keyColumns: [KeyColumn] = []) {
            self.table = table
            self.rows = rows
            self.bytes = bytes
            self.readCallsPerDay = readCallsPerDay
            self.timeColumns = timeColumns
            self.keyColumns = keyColumns
        }
    }

    /// How a plan partitions, before RANGE bounds are known.
    public enum Strategy: Equatable, Sendable {
        /// A PostgreSQL interval and date_trunc unit: year, month, week or day.
        case range(interval: String)
        case list
        case hash(modulus: Int)
    }

    public struct Plan: Equatable, Sendable {
        public var table: Table
        public var column: String
        public var strategy: Strategy
        /// Calls a day of the reads that would touch fewer partitions.
        public var prunedCallsPerDay: Double
    }

    /// At least this many partitions, or partitioning buys little pruning.
    public static let minimumPartitions = 8.0
    /// A layout whose largest partition would hold more than this share of the rows
    /// prunes little: not proposed.
    public static let maximumLargestShare = 0.5

    /// What a plan comes to once the skew is known.
    public enum Verdict: Equatable, Sendable {
        case proposed(SchemaChange)
        /// One partition would hold most rows.
        case skewed(largestShare: Double)
        /// Fewer bounds or shares than the plan needs.
        case unusable
    }
    /// A partition holding this many times its even share is hot.
    public static let hotShareFactor = 3.0
    /// LIST partitions for keys with at most this many values (one partition each).
    public static let maximumListValues = 64
    /// HASH partitions on keys with at least this many values.
    public static let minimumHashValues = 1000.0
    public static let hashModulus = 16

    private static let intervals: [(name: String, seconds: Double)] = [
        ("year", 365.25 * 86_400), ("month", 30.44 * 86_400), ("week", 7 * 86_400), ("day", 86_400),
    ]

    /// The column most of the table's reads (at least half of their calls) filter: a time
    /// column by range first, cut by the largest interval giving at least 8 partitions;
    /// else a key by equality, LIST when pg_stats knows all its 8-64 values, HASH when it
    /// has 1,000 or more.
    public static func plan(_ table: Table, minimumBytes: Double) -> Plan? {
        guard table.bytes >= minimumBytes, table.readCallsPerDay > 0 else { return nil }
        if let time = table.timeColumns.max(by: { $0.rangeFilteredCallsPerDay < $1.rangeFilteredCallsPerDay }),
           time.rangeFilteredCallsPerDay >= table.readCallsPerDay / 2,
           let interval = intervals.first(where: { time.spanSeconds / $0.seconds >= minimumPartitions }) {
            return Plan(table: table, column: time.column, strategy: .range(interval: interval.name),
                        prunedCallsPerDay: time.rangeFilteredCallsPerDay)
        }
        guard let key = table.keyColumns.max(by: { $0.equalityFilteredCallsPerDay < $1.equalityFilteredCallsPerDay }),
              key.equalityFilteredCallsPerDay >= table.readCallsPerDay / 2 else { return nil }
        let listed = key.commonShares.reduce(0, +)
        if key.commonValues.count <= maximumListValues, Double(key.commonValues.count) >= minimumPartitions,
           Double(key.commonValues.count) >= key.distinct, listed >= 0.99 {
            return Plan(table: table, column: key.column, strategy: .list, prunedCallsPerDay: key.equalityFilteredCallsPerDay)
        }
        guard key.distinct >= minimumHashValues else { return nil }
        return Plan(table: table, column: key.column, strategy: .hash(modulus: hashModulus),
                    prunedCallsPerDay: key.equalityFilteredCallsPerDay)
    }

    /// The advice for a RANGE plan, given its partition bounds (SQL literals, ascending)
    /// and the share of the table's rows that would fall in each partition.
    public static func advise(_ plan: Plan, bounds: [String], shares: [Double]) -> Verdict {
        guard case let .range(interval) = plan.strategy, bounds.count - 1 >= Int(minimumPartitions),
              shares.count == bounds.count - 1 else { return .unusable }
        return verdict(plan, scheme: .range(interval: interval, bounds: bounds), shares: shares,
                       how: "\(bounds.count - 1) \(interval)ly partitions", filter: "by range")
    }

    /// The advice for a LIST or HASH plan: the shares come from the key's most common values.
    public static func advise(_ plan: Plan) -> Verdict {
        guard let key = plan.table.keyColumns.first(where: { $0.column == plan.column }) else { return .unusable }
        switch plan.strategy {
        case .range:
            return .unusable
        case .list:
            return verdict(plan, scheme: .list(values: key.commonValues), shares: key.commonShares,
                           reads: key.readValues.isEmpty ? nil : listShares(key.commonValues, key.readValues, key.readShares),
                           how: "\(key.commonValues.count) partitions, one per value", filter: "by equality")
        case let .hash(modulus):
            return verdict(plan, scheme: .hash(modulus: modulus), shares: hashShares(key.commonShares, modulus: modulus),
                           reads: key.readShares.isEmpty ? nil : hashShares(key.readShares, modulus: modulus),
                           how: "\(modulus) hash partitions", filter: "by equality")
        }
    }

    /// Per LIST partition (one per value, then the DEFAULT one), the share of `values`'s
    /// weight it would get.
    public static func listShares(_ partitions: [String], _ values: [String], _ shares: [Double]) -> [Double] {
        var result = Array(repeating: 0.0, count: partitions.count + 1)
        for (value, share) in zip(values, shares) { result[partitions.firstIndex(of: value) ?? partitions.count] += share }
        return result
    }

    /// Per HASH partition, the shares of the most common values (each landing whole in one
    /// partition, at worst the largest ones together), with an even share of the rest.
    public static func hashShares(_ common: [Double], modulus: Int) -> [Double] {
        let rest = max(1 - common.reduce(0, +), 0) / Double(modulus)
        var shares = Array(repeating: rest, count: modulus)
        for (index, share) in common.sorted(by: >).enumerated() { shares[index % modulus] += share }
        return shares
    }

    /// `shares`: of the rows per partition; `reads`: of the sampled reads, when there were any.
    private static func verdict(_ plan: Plan, scheme: SchemaChange.PartitionScheme, shares: [Double], reads: [Double]? = nil,
                                how: String, filter: String) -> Verdict {
        let table = plan.table
        let largest = shares.max() ?? 0
        guard largest <= maximumLargestShare else { return .skewed(largestShare: largest) }
        let hot = largest > hotShareFactor / Double(max(shares.count, 1))
        let busiest = reads?.max()
        let readHot = busiest.map { $0 > hotShareFactor / Double(max(shares.count, 1)) } ?? false
        let pruning = plan.prunedCallsPerDay / table.readCallsPerDay
        return .proposed(SchemaChange(
            kind: .partition, table: table.table, target: table.table,
            action: .partition(column: plan.column, scheme: scheme),
            reason: "\(Figures.whole(pruning * 100))% of the reads of \(table.table) (\(Figures.megabytes(table.bytes))) "
                + "filter \(plan.column) \(filter): \(how) let them skip the others"
                + (hot ? "; but the largest would hold \(Figures.whole(largest * 100))% of the rows, a hot partition"
                       : "; the largest would hold \(Figures.whole(largest * 100))% of the rows")
                + (busiest.map { "; the sampled transactions would send \(Figures.whole($0 * 100))% of their reads to one"
                                 + (readHot ? ", a hot partition" : "") } ?? ""),
            estimatedBenefit: plan.prunedCallsPerDay,
            facts: [("table", JSONText.string(table.table)), ("column", JSONText.string(plan.column)),
                    ("strategy", JSONText.string(scheme.keyword.lowercased())), ("partitions", String(shares.count)),
                    ("table_bytes", JSONText.number(table.bytes)), ("pruned_share", JSONText.number(pruning)),
                    ("largest_partition_share", JSONText.number(largest)), ("hot_partition", hot ? "true" : "false"),
                    ("busiest_partition_read_share", busiest.map(JSONText.number) ?? "null"),
                    ("hot_by_reads", readHot ? "true" : "false")]))
    }
}
