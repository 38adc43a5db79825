/// One change of a table's schema that the schema advisors propose, as a value that can
/// be written out as DDL against the real table or against a shadow copy of it.
public struct SchemaChange: Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// A column's type replaced by a smaller or more fitting one.
        case narrowType = "narrow_type"
        /// A low-cardinality text column replaced by an enum of its values.
        case textToEnum = "text_to_enum"
        /// A recurring join-aggregate kept as a materialized view.
        case materializedView = "materialized_view"
        /// A large table range-partitioned on the time column its queries filter by.
        case partition
        /// An index hypopg cannot model (a trigram GIN index), measured on a shadow copy.
        case createIndex = "create_index"
    }

    public enum Action: Equatable, Sendable {
        /// ALTER COLUMN … TYPE `to` (USING `column::to` when `cast`), back to `from`.
        case retype(column: String, from: String, to: String, cast: Bool)
        /// An enum type named `typeName` (unqualified) holding `values` in the column's sort order.
        case enumerate(column: String, from: String, typeName: String, values: [String])
        /// A materialized view named `name` (unqualified) of `query`, the statement
        /// `queryid` run `callsPerDay`, reading `sources`.
        case materialize(name: String, query: String, sources: [String], queryid: Int64, callsPerDay: Double)
        /// `column` partitioned by `scheme`.
        case partition(column: String, scheme: PartitionScheme)
        /// A GIN index named `name` on `column` with `opclass` (schema-qualified).
        case ginIndex(column: String, opclass: String, name: String)
    }

    public enum PartitionScheme: Equatable, Sendable {
        /// One partition per `interval` between consecutive `bounds` (SQL literals), and a
        /// DEFAULT partition for what falls outside.
        case range(interval: String, bounds: [String])
        /// One partition per value (SQL literals), and a DEFAULT partition.
        case list(values: [String])
        case hash(modulus: Int)

        var keyword: String {
            switch self {
            case .range: return "RANGE"
            case .list: return "LIST"
            case .hash: return "HASH"
            }
        }

        /// The FOR VALUES clause of each partition, nil for DEFAULT.
        var bounds: [String?] {
            switch self {
            case let .range(_, bounds):
                return zip(bounds, bounds.dropFirst()).map { "FROM (\($0)) TO (\($1))" } + [nil]
            case let .list(values):
                return values.map { "IN (\($0))" } + [nil]
            case let .hash(modulus):
                return (0..<modulus).map { "WITH (MODULUS \(modulus), REMAINDER \($0))" }
            }
        }
    }

    public let kind: Kind
    /// The table changed (for a materialized view, the first of its sources), schema-qualified and quoted.
    public let table: String
    /// What augur.recommendation keys it by: table.column, or the view's qualified name.
    public let target: String
    public let action: Action
    /// One line a DBA reads.
    public let reason: String
    /// What the advisor estimated: bytes saved (types) or milliseconds a day saved.
    public let estimatedBenefit: Double
    /// Facts behind the advice, as (key, JSON value) pairs for the evidence.
    public let facts: [(String, String)]

    public init(kind: Kind, table: String, target: String, action: Action, reason: String,
                estimatedBenefit: Double, facts: [(String, String)]) {
        self.kind = kind
        self.table = table
        self.target = target
        self.action = action
        self.reason = reason
        self.estimatedBenefit = estimatedBenefit
        self.facts = facts
    }

    public static func == (lhs: SchemaChange, rhs: SchemaChange) -> Bool {
        lhs.kind == rhs.kind && lhs.table == rhs.table && lhs.target == rhs.target && lhs.action == rhs.action
            && lhs.reason == rhs.reason && lhs.estimatedBenefit == rhs.estimatedBenefit
    }

    /// A change made for space must make the table (with its indexes) at least this much
    /// smaller on the shadow copy.
    public static let minimumSpaceSaving = 0.05

    /// Whether the change is worth making only if it makes the table smaller (an enum, an
    /// integer type), rather than for what the type checks (text to timestamptz).
    public var isForSpace: Bool {
        switch action {
        case .enumerate: return true
        case let .retype(_, _, to, _): return to == "integer" || to == "bigint"
        default: return false
        }
    }

    /// The schema of `table`, quoted as it is.
    public var schema: String { SQLName.schema(of: table) }

    /// The DDL that makes the change on the real table.
    public var ddl: String {
        if case let .ginIndex(column, opclass, name) = action {
            return "CREATE INDEX CONCURRENTLY \(name) ON \(table) USING gin (\(column) \(opclass));"
        }
        return shadowDDL(in: schema)
    }

    /// The DDL that makes the change to the copy of the table in `schema`, inside a
    /// transaction (a materialized view's query then reads whatever its unqualified names
    /// resolve to).
    public func shadowDDL(in schema: String) -> String {
        let table = "\(schema).\(SQLName.relation(of: self.table))"
        switch action {
        case let .ginIndex(column, opclass, _):
            return "CREATE INDEX ON \(table) USING gin (\(column) \(opclass));"
        case let .retype(column, _, to, cast):
            return "ALTER TABLE \(table) ALTER COLUMN \(column) TYPE \(to)\(cast ? " USING \(column)::\(to)" : "");"
        case let .enumerate(column, _, typeName, values):
            let type = "\(schema).\(typeName)"
            return "CREATE TYPE \(type) AS ENUM (\(values.map(SQLName.literal).joined(separator: ", ")));\n"
                + "ALTER TABLE \(table) ALTER COLUMN \(column) TYPE \(type) USING \(column)::text::\(type);"
        case let .materialize(name, query, _, _, _):
            return "CREATE MATERIALIZED VIEW \(schema).\(name) AS \(query);"
        case let .partition(column, scheme):
            let relation = SQLName.relation(of: self.table)
            let unpartitioned = SQLName.suffixed(relation, "_unpartitioned")
            var lines = [
                "ALTER TABLE \(table) RENAME TO \(unpartitioned);",
                "CREATE TABLE \(table) (LIKE \(schema).\(unpartitioned) INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                    + "INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY \(scheme.keyword) (\(column));",
            ]
            for (index, bound) in scheme.bounds.enumerated() {
                let partition = "\(schema).\(SQLName.suffixed(relation, bound == nil ? "_default" : "_p\(index + 1)"))"
                lines.append("CREATE TABLE \(partition) PARTITION OF \(table) \(bound.map { "FOR VALUES \($0)" } ?? "DEFAULT");")
            }
            lines.append("INSERT INTO \(table) SELECT * FROM \(schema).\(unpartitioned);")
            lines.append("-- Then re-create the indexes of \(schema).\(unpartitioned) on \(table) "
                         + "(a unique one must include \(column)), and point foreign keys and views at it.")
            return lines.joined(separator: "\n")
        }
    }

    /// The DDL that undoes `ddl`, nil where there is none.
    public var rollbackDDL: String? {
        let table = self.table
        switch action {
        case let .retype(column, from, _, _):
            return "ALTER TABLE \(table) ALTER COLUMN \(column) TYPE \(from) USING \(column)::\(from);"
        case let .enumerate(column, from, typeName, _):
            return "ALTER TABLE \(table) ALTER COLUMN \(column) TYPE \(from) USING \(column)::text::\(from);\n"
                + "DROP TYPE \(schema).\(typeName);"
        case let .materialize(name, _, _, _, _):
            return "DROP MATERIALIZED VIEW \(schema).\(name);"
        case let .ginIndex(_, _, name):
            return "DROP INDEX CONCURRENTLY \(schema).\(name);"
        case .partition:
            let relation = SQLName.relation(of: table)
            return "ALTER TABLE \(table) RENAME TO \(SQLName.suffixed(relation, "_partitioned"));\n"
                + "ALTER TABLE \(schema).\(SQLName.suffixed(relation, "_unpartitioned")) RENAME TO \(relation);"
        }
    }
}
