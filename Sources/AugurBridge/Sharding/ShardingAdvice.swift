import AugurCore
import CShim

/// `recommend_sharding`: the sampled transactions of this database, oldest first, split
/// into the ones a plan learns from and the later ones it is scored on; the tables they
/// touch with their sizes, write shares and candidate columns; the core's plan, stored as
/// a `distribute` recommendation whose DDL is the Citus script.
enum ShardingAdvice {
    struct Options {
        var nodes: Int
        /// The share of the sampled transactions, the latest, kept out of learning to score
        /// the plan on.
        var heldOut: Double
        var referenceMaxRows: Double
        var imbalance: Double
        var minimumTransactions: Int
        /// Seconds after which a sampled transaction counts half.
        var halfLife: Double
        var predictionWeight: Double
        /// The plan (recommendation id) to move as few keys from as the nodes allow.
        var from: Int64?
        /// An existing split: a column every table that has it is distributed by.
        var split: String?
    }

    static func refresh(_ options: Options) throws -> Int {
        let target = "\(options.nodes) nodes"
        // Read first: a plan to start from that does not exist is an error, not a fresh plan.
        let previous = try options.from.map { try storedPlan($0).plan }
        let transactions = try sampledTransactions()
        let learnCount = Int((Double(transactions.count) * (1 - options.heldOut)).rounded(.down))
        guard learnCount >= options.minimumTransactions else {
            try SPI.progress("sharding advice needs \(options.minimumTransactions) sampled transactions to learn from; "
                             + "this database has \(transactions.count) sampled, \(learnCount) of them to learn from "
                             + "(raise augur.sample_rate, or let the workload run longer)")
            try Recommendations.store(kind: kind, [], within: [target])
            return 0
        }
        let learning = Array(transactions[..<learnCount]), heldOut = Array(transactions[learnCount...])
        try SPI.progress("sharding advice over \(transactions.count) sampled transactions: learning from \(learning.count), "
                         + "scoring on the \(heldOut.count) after them, for \(options.nodes) nodes")
        let tables = try self.tables(touchedBy: transactions)
        var plannerOptions = ShardingPlanner.Options()
        plannerOptions.referenceMaxRows = options.referenceMaxRows
        plannerOptions.imbalance = options.imbalance
        plannerOptions.halfLife = options.halfLife
        plannerOptions.keys.predictionWeight = options.predictionWeight
        plannerOptions.previous = previous
        if let split = options.split {
            plannerOptions.fixed = try splitChoices(split, tables: tables)
        }
        let outcome: ShardingPlanner.Outcome
        do {
            outcome = try ShardingPlanner.plan(tables: tables, training: learning, nodes: options.nodes, options: plannerOptions,
                                               cancelled: { augur_interrupt_pending() })
        } catch {
            throw PGError(sqlstate: .queryCanceled, message: "canceling statement due to user request")
        }
        // Both scores count each transaction fully: the decay weighs what the plan learns, not
        // how it is judged.
        let learnedScore = outcome.plan.score(learning), heldOutScore = outcome.plan.score(heldOut)
        try SPI.progress("sharding plan: \(Figures.percent(learnedScore.distributedShare)) of the transactions learned from and "
                         + "\(Figures.percent(heldOutScore.distributedShare)) of the later ones would touch more than one node")
        let types = try columnTypes(outcome.plan)
        // ISO 8601 (JSON's form), so that any session's DateStyle reads it back.
        let sampledUntil = try SPI.query("""
            SELECT to_json(max(ended_at)) #>> '{}' AS until FROM augur.sampled_xact WHERE dbid = \(currentDatabaseOID)
            """).first?["until"]?.text
        try Recommendations.store(kind: kind, [row(outcome, learnedFrom: learnedScore, heldOut: heldOutScore, tables: tables, types: types,
                                                   foreignKeys: try foreignKeys(of: outcome.plan),
                                                   sampledUntil: sampledUntil, options: options)], within: [target])
        let placed = outcome.plan.placements.sorted { $0.key < $1.key }
        try SPI.execute(forgetPlacements, [target])
        try SPI.execute(storePlacements, [target, PostgresArray.literal(placed.map(\.key)),
                                          PostgresArray.literal(placed.map { String($0.value) })])
        return 1
    }

    /// The open plan for a target ($1).
    private static let openPlan = """
        SELECT id FROM augur.recommendation
         WHERE dbid = \(currentDatabaseOID) AND kind = '\(kind)' AND target = $1 AND status IN ('proposed', 'simulated', 'approved')
        """

    /// What the plan placed before this refresh. A statement of its own: the insert that
    /// follows must see the rows gone (a data-modifying WITH would not).
    private static let forgetPlacements = """
        DELETE FROM augur.sharding_placement p USING (\(openPlan)) AS plan WHERE p.recommendation_id = plan.id
        """

    /// The plan's key placements, all of them (the evidence shows a sample): $1 target,
    /// $2 values, $3 nodes.
    private static let storePlacements = """
        INSERT INTO augur.sharding_placement (recommendation_id, value, node)
        SELECT plan.id, v.value, v.node FROM (\(openPlan)) AS plan, unnest($2::text[], $3::int[]) AS v(value, node)
        """

    /// A stored plan scored again on the transactions sampled after the ones it was made
    /// from: JSON with `transactions`, `distributed_share`, `access_balance`, `since`. Or,
    /// `measured`, an applied plan on the Citus cluster: the transactions sampled since it
    /// was applied, each key on the node Citus has it on, beside the plan's own prediction
    /// for them (`predicted_share`); recorded as its measured benefit.
    static func evaluate(id: Int64, measured: Bool) throws -> String {
        let stored = try storedPlan(id)
        guard measured else {
            let score = stored.plan.score(try sampledTransactions(after: stored.sampledUntil))
            return scoreJSON(score, since: stored.sampledUntil, extra: [])
        }
        guard let appliedAt = stored.appliedAt else {
            throw PGError(sqlstate: .objectNotInPrerequisiteState, message: "sharding plan \(id) has not been applied",
                          hint: "augur.sharding_evaluate(id) scores a plan that is not applied yet.")
        }
        try SPI.execute("SELECT augur.require_citus(workers => false)")
        let transactions = try sampledTransactions(after: appliedAt)
        let actual = ShardingPlan(nodes: stored.plan.nodes, choices: stored.plan.choices,
                                  placements: try citusNodes(of: transactions, plan: id, stored.plan))
        let score = actual.score(transactions), predicted = stored.plan.score(transactions)
        let counted = try citusQueriesSinceApply(id)
        let json = scoreJSON(score, since: appliedAt, extra: [
            ("predicted_share", JSONText.number(predicted.distributedShare)),
            ("citus_queries", counted.map { JSONText.number($0.queries) } ?? "null"),
            ("citus_multi_shard_share", counted.map { JSONText.number($0.multiShardShare) } ?? "null"),
        ])
        try SPI.execute("""
            UPDATE augur.recommendation
               SET measured_benefit = 1 - ($2::jsonb ->> 'distributed_share')::float8,
                   evidence = evidence || jsonb_build_object('measured', $2::jsonb), updated_at = now()
             WHERE id = $1::bigint
            """, [String(id), json])
        return json
    }

    /// Citus's own count of the queries it ran on one shard and on several
    /// (`citus_stat_counters` of the plan's database, on the coordinator), as JSON; nil
    /// without Citus. Counted only with citus.enable_stat_counters on.
    private static func citusCounters(_ id: Int64) throws -> String? {
        guard try SPI.query("SELECT pg_catalog.to_regproc('pg_catalog.citus_stat_counters') IS NOT NULL AS citus")
            .first?["citus"] == .bool(true) else { return nil }
        return try SPI.query("""
            SELECT jsonb_build_object('single_shard', c.query_execution_single_shard,
                                      'multi_shard', c.query_execution_multi_shard,
                                      'enabled', current_setting('citus.enable_stat_counters')::boolean)::text AS counters
              FROM augur.recommendation r, pg_catalog.citus_stat_counters(r.dbid) c
             WHERE r.id = $1::bigint
            """, [String(id)]).first?["counters"]?.text
    }

    /// Where Citus's counters stood when a sharding plan was applied, in its evidence, so
    /// that `sharding_measure` reports what Citus counted since.
    static func noteCitusCountersAtApply(_ id: Int64) throws {
        guard let counters = try citusCounters(id) else { return }
        try SPI.execute("""
            UPDATE augur.recommendation SET evidence = evidence || jsonb_build_object('citus_counters_at_apply', $2::jsonb)
             WHERE id = $1::bigint AND kind = '\(kind)'
            """, [String(id), counters])
    }

    /// The queries Citus ran since the plan was applied, and the share that ran on more
    /// than one shard; nil when Citus did not count them (its counters off, or reset since).
    private static func citusQueriesSinceApply(_ id: Int64) throws -> (queries: Double, multiShardShare: Double)? {
        guard let now = try citusCounters(id) else { return nil }
        let row = try SPI.query("""
            SELECT (n ->> 'single_shard')::float8 - (a ->> 'single_shard')::float8 AS single,
                   (n ->> 'multi_shard')::float8 - (a ->> 'multi_shard')::float8 AS multi,
                   (n ->> 'enabled')::boolean AND (a ->> 'enabled')::boolean AS enabled
              FROM augur.recommendation r, LATERAL (SELECT $2::jsonb AS n, r.evidence -> 'citus_counters_at_apply' AS a) c
             WHERE r.id = $1::bigint
            """, [String(id), now]).first
        guard let single = row?["single"]?.double, let multi = row?["multi"]?.double, row?["enabled"] == .bool(true),
              single >= 0, multi >= 0, single + multi > 0 else { return nil }
        return (single + multi, multi / (single + multi))
    }

    private static func scoreJSON(_ score: ShardingPlan.Score, since: String?, extra: [(String, String)]) -> String {
        JSONText.object([("transactions", JSONText.number(score.transactions)),
                         ("distributed_share", JSONText.number(score.distributedShare)),
                         ("access_balance", JSONText.number(score.accessBalance))] + extra
                        + [("since", since.map(JSONText.string) ?? "null")])
    }

    /// The node (0 for the first worker by node id, as the plan numbers them) Citus has each
    /// key value of `transactions` on (`augur.key_nodes`).
    private static func citusNodes(of transactions: [SampledTransaction], plan id: Int64, _ plan: ShardingPlan) throws -> [String: Int] {
        var values: Set<String> = []
        for transaction in transactions {
            for table in transaction.tables {
                guard case .distributed(let column) = plan.choices[table] ?? .local else { continue }
                values.formUnion(transaction.keys[table]?[column] ?? [])
            }
        }
        var nodes: [String: Int] = [:]
        for row in try SPI.query("SELECT value, node FROM augur.key_nodes($1::bigint, $2::text[])",
                                 [String(id), PostgresArray.literal(values.sorted())]) {
            if let value = row["value"]?.text, let node = row["node"]?.int { nodes[value] = Int(node) }
        }
        return nodes
    }

    /// A stored sharding plan (its table choices and key placements), when the last
    /// transaction it learned from or was scored on ended, and when it was applied.
    static func storedPlan(_ id: Int64) throws -> (plan: ShardingPlan, sampledUntil: String?, appliedAt: String?) {
        guard let plan = try SPI.query(storedPlanFacts, [String(id)]).first else {
            throw PGError(sqlstate: .invalidParameterValue, message: "recommendation \(id) does not exist in this database",
                          hint: "augur.recommendations lists the ids.")
        }
        guard plan["kind"]?.text == kind, let nodes = plan["nodes"]?.double else {
            throw PGError(sqlstate: .invalidParameterValue,
                          message: "recommendation \(id) is a \(plan["kind"]?.text ?? "?") recommendation, not a sharding plan",
                          hint: "augur.recommend_sharding(nodes) makes one.")
        }
        var choices: [String: TableChoice] = [:]
        for row in try SPI.query(storedChoices, [String(id)]) {
            guard let table = row["relation"]?.text else { continue }
            switch row["choice"]?.text {
            case "distributed": choices[table] = row["column"]?.text.map { .distributed(column: $0) } ?? .local
            case "reference": choices[table] = .reference
            default: choices[table] = .local
            }
        }
        var placements: [String: Int] = [:]
        for row in try SPI.query("SELECT value, node FROM augur.sharding_placement WHERE recommendation_id = $1::bigint", [String(id)]) {
            if let value = row["value"]?.text, let node = row["node"]?.double { placements[value] = Int(node) }
        }
        return (ShardingPlan(nodes: Int(nodes), choices: choices, placements: placements), plan["since"]?.text,
                plan["applied_at"]?.text)
    }

    private static let storedPlanFacts = """
        SELECT kind, (evidence ->> 'nodes')::float8 AS nodes, evidence ->> 'sampled_until' AS since,
               CASE WHEN status IN ('applied', 'verified') THEN to_json(applied_at) #>> '{}' END AS applied_at
          FROM augur.recommendation WHERE id = $1::bigint AND dbid = \(currentDatabaseOID)
        """

    private static let storedChoices = """
        SELECT t.key AS relation, t.value ->> 'choice' AS choice, t.value ->> 'column' AS column
          FROM augur.recommendation r, jsonb_each(r.evidence -> 'tables') AS t
         WHERE r.id = $1::bigint
        """

    static let kind = "distribute"

    /// Sampled transactions of this database, oldest first: the tables each touched that
    /// still exist and the key values it compared, by table and column.
    static func sampledTransactions(after: String? = nil) throws -> [SampledTransaction] {
        var tables: [String: Set<String>] = [:], weights: [String: Double] = [:], ended: [String: Double] = [:], order: [String] = []
        for row in try SPI.query(sampledRelations, [after]) {
            guard let id = row["id"]?.text, let table = row["relation"]?.text else { continue }
            if tables[id] == nil {
                order.append(id)
                weights[id] = 1 / max(row["sample_rate"]?.double ?? 1, 1e-9)
                ended[id] = row["ended"]?.double ?? 0
            }
            tables[id, default: []].insert(table)
        }
        var keys: [String: [String: [String: Set<String>]]] = [:]
        for row in try SPI.query(sampledKeys, [after]) {
            guard let id = row["id"]?.text, let table = row["relation"]?.text, let column = row["column"]?.text,
                  let value = row["value"]?.text else { continue }
            keys[id, default: [:]][table, default: [:]][column, default: []].insert(value)
        }
        return order.map {
            SampledTransaction(tables: tables[$0] ?? [], keys: keys[$0] ?? [:], weight: weights[$0] ?? 1, endedAt: ended[$0] ?? 0)
        }
    }

    private static let transactionId = "x.ended_at::text || '/' || x.pid || '/' || x.lxid"

    /// schema.table of the relation `c` (pg_class) in namespace `n`, each quoted where
    /// needed, whatever the search path: as the Citus script names tables.
    private static let qualifiedName = "format('%I.%I', n.nspname, c.relname)"

    /// The table a relation `relid` stands for in a plan, joined as `c` with its schema as
    /// `n`: a partition is its partitioned table's (the existing split stays; Citus
    /// distributes the partitioned table, and every partition with it). The catalogs and
    /// the tables of extensions (Citus's own metadata, Augur's) are not the workload's.
    private static func planTable(_ relid: String) -> String {
        """
        JOIN pg_catalog.pg_class c ON c.oid = coalesce(pg_catalog.pg_partition_root(\(relid)), \(relid))
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
         AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend e
                          WHERE e.classid = 'pg_catalog.pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
        """
    }

    /// Each sampled transaction's relations that still exist (as schema.table, quoted where
    /// needed), oldest transaction first.
    private static let sampledRelations = """
        SELECT \(transactionId) AS id, x.sample_rate, extract(epoch FROM x.ended_at)::float8 AS ended, \(qualifiedName) AS relation
          FROM augur.sampled_xact x
          CROSS JOIN LATERAL unnest(x.relids) AS r(relid)
          JOIN pg_catalog.pg_class t ON t.oid = r.relid AND t.relkind IN ('r', 'p')
          \(planTable("t.oid"))
         WHERE x.dbid = \(currentDatabaseOID) AND ($1::timestamptz IS NULL OR x.ended_at > $1::timestamptz)
         ORDER BY x.ended_at, x.pid, x.lxid
        """

    /// Key columns by name: a partition's column numbers may differ from its table's.
    private static let sampledKeys = """
        SELECT \(transactionId) AS id, \(qualifiedName) AS relation, a.attname::text AS column, k.value
          FROM augur.sampled_key k
          JOIN augur.sampled_xact x USING (ended_at, pid, lxid)
          \(planTable("k.relid"))
          JOIN pg_catalog.pg_attribute a ON a.attrelid = k.relid AND a.attnum = k.attnum AND NOT a.attisdropped
         WHERE x.dbid = \(currentDatabaseOID) AND ($1::timestamptz IS NULL OR x.ended_at > $1::timestamptz)
        """

    /// The tables the transactions touched: rows (as of the last ANALYZE), the share of
    /// their captured statements' calls that write them, and the columns they may be
    /// distributed by (compared in the transactions, or joined on).
    static func tables(touchedBy transactions: [SampledTransaction]) throws -> [ShardingPlanner.Table] {
        let names = Set(transactions.flatMap(\.tables)).sorted()
        var compared: [String: Set<String>] = [:]
        for transaction in transactions {
            for (table, columns) in transaction.keys { compared[table, default: []].formUnion(columns.keys) }
        }
        var joined: [String: Set<String>] = [:]
        for row in try SPI.query(joinedColumns, [PostgresArray.literal(names)]) {
            if let table = row["relation"]?.text, let column = row["column"]?.text { joined[table, default: []].insert(column) }
        }
        let facts = Dictionary(try SPI.query(tableFacts, [PostgresArray.literal(names)]).compactMap { row -> (String, (Double, Double))? in
            guard let name = row["relation"]?.text else { return nil }
            return (name, (max(row["rows"]?.double ?? 0, 0), row["write_share"]?.double ?? 1))
        }, uniquingKeysWith: { first, _ in first })
        var uniqueKeys: [String: [[String]]] = [:]
        for row in try SPI.query(uniqueIndexes, [PostgresArray.literal(names)]) {
            if let table = row["relation"]?.text, let columns = row["columns"]?.text {
                uniqueKeys[table, default: []].append(columns.split(separator: ",").map(String.init))
            }
        }
        return names.map { name in
            ShardingPlanner.Table(name: name, rows: facts[name]?.0 ?? 0, writeShare: facts[name]?.1 ?? 1,
                                  columns: (compared[name] ?? []).union(joined[name] ?? []).sorted(),
                                  uniqueKeys: uniqueKeys[name] ?? [])
        }
    }

    /// Each table's unique indexes (primary keys included), by their plain columns.
    private static let uniqueIndexes = """
        SELECT \(qualifiedName) AS relation,
               array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) AS k(attnum)
                                       JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum), ',')
                   AS columns
          FROM unnest($1::text[]) AS t(name)
          JOIN pg_catalog.pg_index i ON i.indrelid = to_regclass(t.name) AND i.indisunique
          JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        """

    /// A partitioned table's rows are its partitions', its statements those using it or any
    /// of them (`pg_partition_tree` has no rows for a table that is not partitioned).
    private static let tableFacts = """
        SELECT \(qualifiedName) AS relation,
               coalesce((SELECT sum(greatest(p.reltuples, 0)) FROM pg_catalog.pg_partition_tree(c.oid) AS tree
                           JOIN pg_catalog.pg_class p ON p.oid = tree.relid WHERE tree.isleaf),
                        greatest(c.reltuples, 0))::float8 AS rows,
               coalesce((SELECT sum(q.calls) FILTER (WHERE u.written)::float8 / nullif(sum(q.calls), 0)
                           FROM augur.relation_use u
                           JOIN augur.query q ON q.dbid = u.dbid AND q.queryid = u.queryid
                          WHERE u.dbid = \(currentDatabaseOID)
                            AND (u.relid = c.oid OR u.relid IN (SELECT tree.relid FROM pg_catalog.pg_partition_tree(c.oid) AS tree))),
                        1) AS write_share
          FROM unnest($1::text[]) AS t(name)
          JOIN pg_catalog.pg_class c ON c.oid = to_regclass(t.name)
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        """

    private static let joinedColumns = """
        SELECT \(qualifiedName) AS relation, a.attname::text AS column
          FROM augur.join_pair p
          CROSS JOIN LATERAL (VALUES (p.left_relid, p.left_attnum), (p.right_relid, p.right_attnum)) AS j(relid, attnum)
          \(planTable("j.relid"))
          JOIN pg_catalog.pg_attribute a ON a.attrelid = j.relid AND a.attnum = j.attnum AND NOT a.attisdropped
         WHERE p.dbid = \(currentDatabaseOID) AND \(qualifiedName) = ANY ($1::text[])
        """

    /// The tables of the workload that have a column named `split`, distributed by it; none
    /// is an error (the DBA named a column the workload does not have).
    static func splitChoices(_ split: String, tables: [ShardingPlanner.Table]) throws -> [String: TableChoice] {
        let having = try SPI.query("""
            SELECT t.name FROM unnest($1::text[]) AS t(name)
             WHERE EXISTS (SELECT FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = to_regclass(t.name) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped)
            """, [PostgresArray.literal(tables.map(\.name)), split]).compactMap { $0["name"]?.text }
        guard !having.isEmpty else {
            throw PGError(sqlstate: .invalidParameterValue,
                          message: "no table the sampled transactions touch has a column named \(split) to split by",
                          hint: "Name the tenant column as its tables name it (\"split\": \"tenant_id\").")
        }
        return Dictionary(uniqueKeysWithValues: having.map { ($0, TableChoice.distributed(column: split)) })
    }

    /// The foreign keys of the tables `plan` converts (to a reference or distributed
    /// table), or that reference them.
    /// Names come schema-qualified (the definition printed under an empty search path), so
    /// that the script reads the same whatever the search path it runs under.
    static func foreignKeys(of plan: ShardingPlan) throws -> [ForeignKey] {
        let converted = plan.choices.filter { $0.value != .local }.keys.sorted()
        let searchPath = try SPI.query("SELECT current_setting('search_path') AS path").first?["path"]?.text ?? ""
        try SPI.execute("SELECT set_config('search_path', '', true)")
        defer { _ = try? SPI.execute("SELECT set_config('search_path', $1, true)", [searchPath]) }
        return try SPI.query("""
            SELECT k.conrelid::regclass::text AS relation, quote_ident(k.conname) AS name,
                   pg_catalog.pg_get_constraintdef(k.oid) AS definition, k.confrelid::regclass::text AS referenced,
                   array_to_string(ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, i)
                                           JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
                                          ORDER BY u.i), ',') AS columns,
                   array_to_string(ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, i)
                                           JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum
                                          ORDER BY u.i), ',') AS referenced_columns
              FROM pg_catalog.pg_constraint k
             WHERE k.contype = 'f'
               AND (k.conrelid = ANY (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)
                    OR k.confrelid = ANY (SELECT to_regclass(t) FROM unnest($1::text[]) AS t))
             ORDER BY 1, 2
            """, [PostgresArray.literal(converted)]).compactMap { row in
            guard let table = row["relation"]?.text, let name = row["name"]?.text, let definition = row["definition"]?.text
            else { return nil }
            return ForeignKey(table: table, name: name, definition: definition,
                              columns: (row["columns"]?.text ?? "").split(separator: ",").map(String.init),
                              referencedTable: row["referenced"]?.text ?? "",
                              referencedColumns: (row["referenced_columns"]?.text ?? "").split(separator: ",").map(String.init))
        }
    }

    /// The type of each distribution column: Citus co-locates only tables distributed by
    /// columns of one type.
    static func columnTypes(_ plan: ShardingPlan) throws -> [String: String] {
        var types: [String: String] = [:]
        for (table, choice) in plan.choices {
            guard case .distributed(let column) = choice else { continue }
            types[table] = try SPI.query("""
                SELECT format_type(a.atttypid, NULL) AS type FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped
                """, [table, column]).first?["type"]?.text
        }
        return types
    }

    static func row(_ outcome: ShardingPlanner.Outcome, learnedFrom: ShardingPlan.Score, heldOut: ShardingPlan.Score, tables: [ShardingPlanner.Table],
                    types: [String: String], foreignKeys: [ForeignKey], sampledUntil: String?, options: Options) -> Recommendations.Row {
        let plan = outcome.plan
        let script = CitusScript(plan: plan, types: types, foreignKeys: foreignKeys)
        let distributed = plan.choices.values.filter { if case .distributed = $0 { return true } else { return false } }.count
        let references = plan.choices.values.filter { $0 == .reference }.count
        let dropped = script.droppedForeignKeys.isEmpty ? ""
            : "; drops \(script.droppedForeignKeys.count) foreign keys Citus cannot enforce (evidence -> 'dropped_foreign_keys')"
        let reason = "\(options.nodes) nodes: \(Figures.percent(heldOut.distributedShare)) of the later sampled transactions would touch "
            + "more than one node (\(Figures.percent(learnedFrom.distributedShare)) of those learned from); the busiest node would serve "
            + "\(Figures.ratio(heldOut.accessBalance))× the mean; \(distributed) tables distributed, \(references) reference"
            + dropped + (outcome.moved.map { "; moves \(Figures.whole(Double($0.keys))) of the \(Figures.whole(Double($0.of))) keys plan \(options.from ?? 0) placed" } ?? "")
        func score(_ score: ShardingPlan.Score) -> String {
            JSONText.object([("transactions", JSONText.number(score.transactions)),
                             ("distributed_share", JSONText.number(score.distributedShare)),
                             ("access_balance", JSONText.number(score.accessBalance))])
        }
        let tableEvidence = tables.map { table -> (String, String) in
            var members: [(String, String)]
            switch plan.choices[table.name] ?? .local {
            case .distributed(let column): members = [("choice", JSONText.string("distributed")), ("column", JSONText.string(column))]
            case .reference: members = [("choice", JSONText.string("reference"))]
            case .local: members = [("choice", JSONText.string("local"))]
            }
            return (table.name, JSONText.object(members + [("reason", JSONText.string(outcome.reasons[table.name] ?? ""))]))
        }
        let groups = Dictionary(grouping: plan.placements, by: \.value).sorted { $0.key < $1.key }.map { node, values in
            [("node", JSONText.number(Double(node))), ("keys", JSONText.number(Double(values.count))),
             ("sample", "[" + values.map(\.key).sorted().prefix(20).map(JSONText.string).joined(separator: ", ") + "]")]
        }
        let evidence = JSONText.object([
            ("nodes", JSONText.number(Double(options.nodes))),
            ("sampled_until", sampledUntil.map(JSONText.string) ?? "null"),
            ("learned_from", score(learnedFrom)),
            ("held_out", score(heldOut)),
            ("tables", JSONText.object(tableEvidence)),
            ("alternatives", JSONText.array(of: outcome.alternatives.map {
                [("plan", JSONText.string($0.name)), ("distributed_share", JSONText.number($0.score.distributedShare)),
                 ("access_balance", JSONText.number($0.score.accessBalance))]
            })),
            ("key_groups", JSONText.array(of: groups)),
            ("dropped_foreign_keys", "[" + script.droppedForeignKeys.map { JSONText.string("\($0.name) of \($0.table)") }
                .joined(separator: ", ") + "]"),
            ("half_life_seconds", options.halfLife.isFinite ? JSONText.number(options.halfLife) : "null"),
            ("prediction_weight", JSONText.number(options.predictionWeight)),
            ("moved", outcome.moved.map {
                JSONText.object([("from", JSONText.number(Double(options.from ?? 0))), ("keys", JSONText.number(Double($0.keys))),
                                 ("of", JSONText.number(Double($0.of)))])
            } ?? "null"),
        ])
        return Recommendations.Row(target: "\(options.nodes) nodes", ddl: script.ddl, rollbackDDL: script.rollbackDDL,
                                   reason: reason, evidence: evidence, benefit: 1 - heldOut.distributedShare)
    }

}

@_cdecl("augur_swift_sharding_evaluate")
func augurSwiftShardingEvaluate(_ id: Int64, _ measured: Bool, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                                _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        try hand(try ShardingAdvice.evaluate(id: id, measured: measured), to: json)
    }
}

@_cdecl("augur_swift_recommend_sharding")
func augurSwiftRecommendSharding(_ options: UnsafePointer<augur_sharding_options>, _ proposed: UnsafeMutablePointer<Int64>,
                                 _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        let given = options.pointee
        proposed.pointee = Int64(try ShardingAdvice.refresh(.init(
            nodes: Int(given.nodes), heldOut: given.held_out, referenceMaxRows: given.reference_max_rows, imbalance: given.imbalance,
            minimumTransactions: Int(given.min_transactions), halfLife: given.half_life_seconds,
            predictionWeight: given.prediction_weight, from: given.from_plan > 0 ? given.from_plan : nil,
            split: given.split.map { String(cString: $0) })))
        return true
    }
}
