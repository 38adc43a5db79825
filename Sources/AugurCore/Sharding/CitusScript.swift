/// A foreign key of a table a plan converts, as the catalog defines it.
public struct ForeignKey: Equatable, Sendable {
    /// The table that has it (`regclass` text) and its name (quoted where needed).
    public let table: String
    public let name: String
    /// `pg_get_constraintdef`'s text: FOREIGN KEY (…) REFERENCES …
    public let definition: String
    public let columns: [String]
    public let referencedTable: String
    public let referencedColumns: [String]

    public init(table: String, name: String, definition: String, columns: [String] = [], referencedTable: String = "",
                referencedColumns: [String] = []) {
        self.table = table
        self.name = name
        self.definition = definition
        self.columns = columns
        self.referencedTable = referencedTable
        self.referencedColumns = referencedColumns
    }

    /// Whether Citus can enforce it under `plan`: to a reference table from a distributed
    /// or reference one; between distributed tables co-located (distributed by columns of
    /// one type) when it pairs their distribution columns.
    public func isEnforceable(under plan: ShardingPlan, types: [String: String]) -> Bool {
        switch (plan.choices[table] ?? .local, plan.choices[referencedTable] ?? .local) {
        case (.distributed, .reference), (.reference, .reference):
            return true
        case (.distributed(let column), .distributed(let referenced)):
            return types[table] == types[referencedTable]
                && zip(columns, referencedColumns).contains { $0 == column && $1 == referenced }
        default:
            return false
        }
    }
}

/// The Citus script that realises a plan's table choices, and the one that undoes it, each
/// one transaction: Citus's sequential mode first (a foreign key to a reference table
/// cannot follow parallel work on distributed tables in one transaction); the foreign keys
/// of the tables it converts dropped (Citus refuses a key between a distributed table and
/// one not distributed yet, whatever the order); reference tables; each distributed table,
/// co-located with the first table distributed by a column of the same type (Citus
/// co-locates only those); each converted table's local copy emptied (Citus copies the
/// rows to the shards and leaves them, invisible, on the coordinator's disk); and the
/// foreign keys Citus can enforce made again, the others named in comments (a DBA
/// approving the plan sees them go). One statement a line. Table names come quoted where
/// needed (`regclass` text); column names as they are.
public struct CitusScript: Equatable, Sendable {
    public let ddl: String
    public let rollbackDDL: String
    /// The foreign keys the script drops for good.
    public let droppedForeignKeys: [ForeignKey]

    /// - Parameters:
    ///   - types: the type of each distributed table's column.
    ///   - foreignKeys: the foreign keys of the tables the plan converts, or that reference them.
    public init(plan: ShardingPlan, types: [String: String], foreignKeys: [ForeignKey] = []) {
        func drop(_ key: ForeignKey) -> String { "ALTER TABLE \(key.table) DROP CONSTRAINT \(key.name);" }
        func add(_ key: ForeignKey) -> String { "ALTER TABLE \(key.table) ADD CONSTRAINT \(key.name) \(key.definition);" }
        let kept = foreignKeys.filter { $0.isEnforceable(under: plan, types: types) }
        droppedForeignKeys = foreignKeys.filter { !kept.contains($0) }
        let sequential = "SET LOCAL citus.multi_shard_modify_mode TO 'sequential';"
        var lines = [sequential] + foreignKeys.map(drop)
        var undo: [String] = []
        let tables = plan.choices.keys.sorted()
        for table in tables where plan.choices[table] == .reference {
            lines.append("SELECT create_reference_table(\(SQLName.literal(table)));")
            undo.append("SELECT undistribute_table(\(SQLName.literal(table)));")
        }
        var anchors: [String: String] = [:]
        for table in tables {
            guard case .distributed(let column) = plan.choices[table] else { continue }
            let type = types[table] ?? "?"
            var call = "SELECT create_distributed_table(\(SQLName.literal(table)), \(SQLName.literal(column))"
            if let anchor = anchors[type] {
                call += ", colocate_with => \(SQLName.literal(anchor))"
            } else {
                anchors[type] = table
            }
            lines.append(call + ");")
            undo.append("SELECT undistribute_table(\(SQLName.literal(table)));")
        }
        let converted = tables.filter { plan.choices[$0] != .local }
        lines += converted.map { "SELECT truncate_local_data_after_distributing_table(\(SQLName.literal($0)));" }
        lines += kept.map(add)
        lines += droppedForeignKeys.map {
            "-- \($0.name) of \($0.table) is not made again: Citus cannot enforce it between these tables as distributed."
        }
        if !plan.placements.isEmpty {
            let nodes = Set(plan.placements.values).count
            lines.append("-- The plan also places \(plan.placements.count) key values on \(nodes) nodes (evidence -> 'key_groups'); "
                         + "the collector moves them there after this script (augur.next_placement_step).")
        }
        ddl = lines.joined(separator: "\n")
        // Undone: the keys kept dropped, the tables back, every key made again.
        rollbackDDL = ([sequential] + kept.map(drop) + undo.reversed() + foreignKeys.map(add)).joined(separator: "\n")
    }
}
