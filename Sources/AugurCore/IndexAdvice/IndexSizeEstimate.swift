/// The size a B-tree index will have once built, from the table's statistics.
///
/// hypopg sizes a hypothetical B-tree as one tuple per row, which ignores deduplication
/// (PostgreSQL 13+): an index on a column with few distinct values stores each key once
/// with a posting list of 6-byte heap pointers, and is often 3× smaller than that. A
/// budget counted in hypopg's sizes buys a third of what it could. This estimate:
///
/// - leaf tuples: with deduplication, one per distinct key (header, key, line pointer)
///   plus 6 bytes per further row; without, one per row;
/// - leaf pages filled to the default fillfactor (90%), less the page header;
/// - 1% more for the inner pages, plus the metapage.
///
/// Checked against real builds in `IndexSizeEstimateTests` and the index advice benchmark.
public enum IndexSizeEstimate {
    public struct Column: Sendable {
        /// Distinct values (pg_stats.n_distinct resolved against the row count).
        public let distinct: Double
        /// Average width in bytes (pg_stats.avg_width).
        public let width: Double
        /// Whether its type deduplicates in a B-tree (not numeric, float, jsonb, …).
        public let deduplicates: Bool

        public init(distinct: Double, width: Double, deduplicates: Bool) {
            self.distinct = distinct
            self.width = width
            self.deduplicates = deduplicates
        }
    }

    static let pageSize = 8192.0
    static let pageHeader = 24.0
    static let tupleHeader = 8.0
    static let linePointer = 4.0
    static let heapPointer = 6.0
    static let leafFill = 0.9

    public static func bytes(rows: Double, columns: [Column]) -> Double {
        guard rows.isFinite, rows > 0, !columns.isEmpty else { return pageSize }
        let keyWidth = columns.reduce(0) { $0 + max($1.width, 1) }
        let tuple = maxAligned(tupleHeader + keyWidth) + linePointer
        let distinct = min(rows, columns.reduce(1) { $0 * max($1.distinct, 1) })
        let deduplicates = columns.allSatisfy(\.deduplicates)
        let leafBytes = deduplicates ? distinct * tuple + (rows - distinct) * heapPointer : rows * tuple
        let leafPages = (leafBytes / (leafFill * (pageSize - pageHeader))).rounded(.up)
        return (leafPages * 1.01).rounded(.up) * pageSize + pageSize
    }

    /// Rounded up to 8 bytes, as PostgreSQL aligns index tuples.
    static func maxAligned(_ bytes: Double) -> Double { (bytes / 8).rounded(.up) * 8 }
}
