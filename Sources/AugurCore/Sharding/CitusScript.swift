/// The Citus script that realises a plan's table choices, and the one that undoes it:
/// reference tables first, then each distributed table, co-located with the first table
/// distributed by a column of the same type (Citus co-locates only those), then each
/// converted table's local copy emptied (Citus copies the rows to the shards and leaves
/// them, invisible, on the coordinator's disk). One statement a line. Table names come
/// quoted where needed (`regclass` text); column names as they are.
public struct CitusScript: Equatable, Sendable {
    public let ddl: String
    public let rollbackDDL: String

    /// - Parameter types: the type of each distributed table's column.
    public init(plan: ShardingPlan, types: [String: String]) {
        var lines: [String] = []
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
        if !plan.placements.isEmpty {
            let nodes = Set(plan.placements.values).count
            lines.append("-- The plan also places \(plan.placements.count) key values on \(nodes) nodes (evidence -> 'key_groups'); "
                         + "this script leaves them where Citus hashes them.")
        }
        ddl = lines.joined(separator: "\n")
        rollbackDDL = undo.reversed().joined(separator: "\n")
    }
}
