import AugurCore
import CShim

/// augur.recommend_indexes(): the indexes worth creating for this database's captured
/// workload, chosen by the core's Extend search with costs from the planner and hypopg's
/// hypothetical indexes (no real index is built), kept in augur.recommendation.
enum IndexCreationAdvice {
    /// Captured statements of this database with their rates a day.
    private static let statements = """
        WITH \(CapturedRates.ctes)
        SELECT q.queryid, q.calls_per_day, q.rows_per_call, q.query, q.seen_once,
               \(Senders.leastPrivileged(queryid: "q.queryid")) AS sender
          FROM q
        """

    /// How each statement uses each column of an ordinary table that still exists (a
    /// dropped table or column simply drops out here).
    private static let columnUses = """
        SELECT u.queryid, format('%I.%I', n.nspname, c.relname) AS table_name, quote_ident(a.attname) AS column_name,
               array_to_string(u.roles, ',') AS roles, coalesce(r.written, false) AS table_written
          FROM augur.column_use u
          JOIN pg_catalog.pg_class c ON c.oid = u.relid AND c.relkind IN ('r', 'm', 'p')
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = u.relid AND a.attnum = u.attnum AND NOT a.attisdropped
          LEFT JOIN augur.relation_use r ON r.dbid = u.dbid AND r.queryid = u.queryid AND r.relid = u.relid
         WHERE u.dbid = \(currentDatabaseOID) AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'augur')
        """

    /// The latest example executions per query whose sender still exists, with their
    /// parameters as a list of literals for EXECUTE (NULL when there were none).
    private static let latestExamples = """
        SELECT queryid, query, userid,
               CASE WHEN cardinality(params) > 0 THEN
                   (SELECT '(' || string_agg(quote_literal(p), ', ' ORDER BY o) || ')'
                      FROM unnest(params) WITH ORDINALITY AS u(p, o)) END AS arguments
          FROM (SELECT e.*, row_number() OVER (PARTITION BY queryid ORDER BY captured_at DESC, id DESC) AS age
                  FROM augur.query_example e JOIN pg_catalog.pg_roles r ON r.oid = e.userid
                 WHERE dbid = \(currentDatabaseOID)) latest
         WHERE age <= \(HypoPGCosting.examplesPerStatement)
         ORDER BY queryid, age
        """

    /// The key columns of each valid, plain B-tree index (no expression, no predicate).
    private static let existingIndexes = """
        SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
               (SELECT string_agg(quote_ident(a.attname), ',' ORDER BY k.position)
                  FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, position)
                  JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS key_columns
          FROM pg_catalog.pg_index i
          JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
          JOIN pg_catalog.pg_am am ON am.oid = ic.relam
         WHERE i.indisvalid AND am.amname = 'btree' AND i.indexprs IS NULL AND i.indpred IS NULL
           AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'augur')
        """

    /// Columns a BRIN index fits: in (or against) the table's physical order, in a table
    /// of at least 1,000 pages (8 MB); the range-filtered ones among them are candidates.
    private static let physicallyOrdered = """
        SELECT format('%I.%I', s.schemaname, s.tablename) AS table_name, quote_ident(s.attname) AS column_name
          FROM pg_catalog.pg_stats s
          JOIN pg_catalog.pg_namespace n ON n.nspname = s.schemaname
          JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
         WHERE NOT s.inherited AND abs(s.correlation) >= 0.9 AND c.relpages >= 1000
           AND s.schemaname NOT IN ('pg_catalog', 'information_schema', 'augur')
        """

    /// Per statement and column it uses in role $1 ('filter_equality', 'filter_pattern'):
    /// the statement's normalized text and its latest example executions (text and
    /// parameters), for the constants they sent; whether the column compares in the C
    /// collation (where a plain B-tree serves a LIKE prefix) and is text or varchar (which
    /// text_pattern_ops serves).
    private static let columnExamples = """
        SELECT format('%I.%I', n.nspname, c.relname) AS table_name, quote_ident(a.attname) AS column_name,
               coalesce(CASE WHEN a.attcollation = 'pg_catalog.default'::regcollation
                             THEN (SELECT d.datcollate FROM pg_catalog.pg_database d WHERE d.datname = current_database())
                             ELSE co.collcollate END IN ('C', 'POSIX'), false) AS c_collation,
               a.atttypid IN ('text'::regtype, 'varchar'::regtype) AS is_text,
               q.query AS normalized, e.query AS example, e.params::text AS params
          FROM augur.column_use u
          JOIN pg_catalog.pg_class c ON c.oid = u.relid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = u.relid AND a.attnum = u.attnum AND NOT a.attisdropped
          LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
          JOIN (SELECT DISTINCT ON (queryid) queryid, query FROM augur.query
                 WHERE dbid = \(currentDatabaseOID) AND query IS NOT NULL ORDER BY queryid) q ON q.queryid = u.queryid
          JOIN augur.query_example e ON e.dbid = u.dbid AND e.queryid = u.queryid
         WHERE u.dbid = \(currentDatabaseOID) AND $1 = ANY (u.roles)
           AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'augur')
        """

    /// A constant the example executions compared a column with, in role `role`.
    struct SentValue {
        let table: String
        let column: String
        let value: String
        let cCollation: Bool
        let isText: Bool
    }

    /// Per example execution, the constant it compared each column used in `role` with:
    /// `parameter` finds its `$n` in the normalized text.
    static func sentValues(role: String, parameter: (_ column: String, _ normalized: String) -> Int?) throws -> [SentValue] {
        try SPI.query(columnExamples, [role]).compactMap { row in
            guard let table = row["table_name"]?.text, let column = row["column_name"]?.text,
                  let normalized = row["normalized"]?.text, let example = row["example"]?.text,
                  let number = parameter(column, normalized),
                  let sent = StatementConstants.values(normalized: normalized, example: example,
                                                       parameters: PostgresArray.elements(row["params"]?.text ?? "{}").map { $0 ?? "" }),
                  let value = sent[number] else { return nil }
            return SentValue(table: table, column: column, value: value, cCollation: row["c_collation"] == .bool(true),
                             isText: row["is_text"] == .bool(true))
        }
    }

    /// The share of $1's rows whose column $2 holds $3, from pg_stats: its most-common
    /// frequency, or else an even share of what the most common values leave.
    private static let valueShare = """
        SELECT coalesce(
                   (SELECT m.f FROM unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS m(v, f) WHERE m.v = $3),
                   (1 - coalesce((SELECT sum(f) FROM unnest(s.most_common_freqs) f), 0) - s.null_frac)
                     / greatest(CASE WHEN s.n_distinct >= 0 THEN s.n_distinct ELSE -s.n_distinct * greatest(c.reltuples, 0) END
                                - coalesce(cardinality(s.most_common_freqs), 0), 1))::float8 AS share
          FROM pg_catalog.pg_stats s
          JOIN pg_catalog.pg_namespace n ON n.nspname = s.schemaname
          JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
         WHERE format('%I.%I', s.schemaname, s.tablename) = $1 AND quote_ident(s.attname) = $2 AND NOT s.inherited
        """

    private static let hypopgSchema = """
        SELECT quote_ident(n.nspname) AS schema FROM pg_catalog.pg_extension e
          JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'hypopg'
        """


    /// The roles a B-tree can serve: equality and IN lists, ranges, join keys, GROUP BY and ORDER BY.
    private static let indexableRoles: Set<Substring> = ["filter_equality", "filter_in", "filter_range", "join_key",
                                                         "grouped", "ordered"]

    /// The captured statements of this database as the selection sees them, with what
    /// the candidates are made of.
    struct CapturedWorkload {
        var statements: [IndexSelection.Statement] = []
        /// Normalized texts by query id (an EXECUTE's, the statement it prepared).
        var texts: [Int64: String] = [:]
        /// The role each text is planned as (`Senders`); none for a sender that is gone.
        var senders: [Int64: RoleOID] = [:]
        /// Statements seen once, whose rate is assumed (`CapturedRates`).
        var seenOnce: Set<Int64> = []
        /// Per table and column only ever searched by a LIKE prefix, its B-tree key.
        var prefixSearched: [String: [String: String]] = [:]
        /// Per table, the columns statements filter, join, group or order by.
        var columns: [String: [String]] = [:]
        /// "table column" pairs some statement filters by a range.
        var rangeFiltered: Set<String> = []
        /// Per table, the column sets single statements read from it.
        var readColumns: [String: [[String]]] = [:]

        static func load() throws -> CapturedWorkload {
            var workload = CapturedWorkload()
            workload.prefixSearched = try prefixSearchedColumns()
            var byQuery: [Int64: (callsPerDay: Double, rowsPerCall: Double)] = [:]
            for row in try SPI.query(IndexCreationAdvice.statements) {
                guard let queryid = row["queryid"]?.int, let text = row["query"]?.text else { continue }
                workload.texts[queryid] = NormalizedStatement.preparedBody(text)
                workload.senders[queryid] = RoleOID(row["sender"])
                if case .bool(true)? = row["seen_once"] { workload.seenOnce.insert(queryid) }
                byQuery[queryid] = (row["calls_per_day"]?.double ?? 0, row["rows_per_call"]?.double ?? 0)
            }
            var read: [Int64: [String: [String]]] = [:]   // per statement and table, every column it uses
            var reads: [Int64: Set<String>] = [:]
            var keys: [Int64: [String: Set<String>]] = [:]   // per statement and table, the keys it uses
            var written: [Int64: [String: Set<String>]] = [:]
            for row in try SPI.query(columnUses) {
                guard let queryid = row["queryid"]?.int, let table = row["table_name"]?.text,
                      let column = row["column_name"]?.text, let roles = row["roles"]?.text else { continue }
                let roleSet = Set(roles.split(separator: ","))
                if roleSet.contains("filter_range") { workload.rangeFiltered.insert("\(table) \(column)") }
                if !roleSet.contains("written") { read[queryid, default: [:]][table, default: []].append(column) }
                let used = (roleSet.isDisjoint(with: indexableRoles) ? [] : [column])
                    + (roleSet.contains("filter_pattern") ? workload.prefixSearched[table]?[column].map { [$0] } ?? [] : [])
                if !used.isEmpty { reads[queryid, default: []].insert(table) }
                keys[queryid, default: [:]][table, default: []].formUnion(used)
                for key in used where !(workload.columns[table] ?? []).contains(key) {
                    workload.columns[table, default: []].append(key)
                }
                if case .bool(true)? = row["table_written"] {
                    written[queryid, default: [:]][table, default: []].formUnion(roleSet.contains("written") ? [column] : [])
                }
            }
            workload.statements = byQuery.keys.sorted().compactMap { queryid -> IndexSelection.Statement? in
                guard let text = workload.texts[queryid], let usage = byQuery[queryid] else { return nil }
                let kind = NormalizedStatement.Kind(text)
                var writes: [String: IndexSelection.Statement.Write] = [:]
                for (table, changed) in written[queryid] ?? [:] {
                    writes[table] = .init(rowsPerCall: usage.rowsPerCall, columns: kind == .update ? changed : nil)
                }
                let tables = kind.isPlannable ? reads[queryid] ?? [] : []
                guard !tables.isEmpty || !writes.isEmpty else { return nil }
                return IndexSelection.Statement(queryid: queryid, callsPerDay: usage.callsPerDay, tables: tables, writes: writes,
                                                keys: keys[queryid] ?? [:])
            }
            for statement in workload.statements where !statement.tables.isEmpty {
                for (table, used) in read[statement.queryid] ?? [:] where !(workload.readColumns[table] ?? []).contains(used) {
                    workload.readColumns[table, default: []].append(used)
                }
            }
            return workload
        }
    }

    /// Per table and column that the workload's LIKE patterns only ever search by a
    /// prefix (`'abc%'`, in every example execution), the B-tree key that serves them: the
    /// column in the C collation, else the column with text_pattern_ops.
    static func prefixSearchedColumns() throws -> [String: [String: String]] {
        var patterns: [String: [String: (cCollation: Bool, values: [String])]] = [:]
        for sent in try sentValues(role: "filter_pattern", parameter: StatementConstants.patternParameter(of:in:)) where sent.isText {
            patterns[sent.table, default: [:]][sent.column, default: (sent.cCollation, [])].values.append(sent.value)
        }
        var keys: [String: [String: String]] = [:]
        for (table, columns) in patterns {
            for (column, searched) in columns where searched.values.allSatisfy(StatementConstants.isPrefixPattern) {
                keys[table, default: [:]][column] = searched.cCollation ? column : "\(column) text_pattern_ops"
            }
        }
        return keys
    }

    /// hypopg's schema, quoted; 55000 with a hint when it is not installed.
    static func hypopg() throws -> String {
        guard let schema = try SPI.query(hypopgSchema).first?["schema"]?.text else {
            throw PGError(sqlstate: .objectNotInPrerequisiteState, message: "index creation advice needs the hypopg extension",
                          hint: "CREATE EXTENSION hypopg; or call augur.recommend_indexes(include_new => false) for drop advice alone.")
        }
        return schema
    }

    /// The planner over hypothetical indexes, with the workload's example executions.
    static func planner(schema: String, for captured: CapturedWorkload) throws -> HypoPGCosting {
        HypoPGCosting(schema: schema, texts: captured.texts, senders: captured.senders, examples: try examples())
    }

    /// The latest example executions of each statement, newest first.
    static func examples() throws -> [Int64: [HypoPGCosting.Example]] {
        var examplesByQuery: [Int64: [HypoPGCosting.Example]] = [:]
        for row in try SPI.query(latestExamples) {
            guard let queryid = row["queryid"]?.int, let text = row["query"]?.text,
                  let sender = RoleOID(row["userid"]) else { continue }
            examplesByQuery[queryid, default: []].append(.init(text: text, arguments: row["arguments"]?.text, sender: sender))
        }
        return examplesByQuery
    }

    /// Returns the number of indexes proposed for creation: Extend's B-tree and BRIN
    /// indexes, then the trigram indexes that fit what they leave of the budget.
    static func refresh(budgetBytes: Double, timeBudgetSeconds: Double) throws -> Int {
        let schema = try hypopg()
        let captured = try CapturedWorkload.load()
        let chosen = captured.statements.contains(where: { !$0.tables.isEmpty })
            ? try extend(captured, schema: schema, budgetBytes: budgetBytes, timeBudgetSeconds: timeBudgetSeconds) : []
        let trigram = try TrigramIndexAdvice.advise(budgetBytes: budgetBytes - chosen.reduce(0) { $0 + $1.bytes },
                                                    excluding: captured.prefixSearched)
        try Recommendations.store(kind: "create_index", chosen + trigram)
        return chosen.count + trigram.count
    }

    /// The Extend search over the captured workload, priced by the planner with hypopg.
    private static func extend(_ captured: CapturedWorkload, schema: String, budgetBytes: Double,
                               timeBudgetSeconds: Double) throws -> [Recommendations.Row] {
        let started = augur_clock_ms()
        let deadline = started + Int64(min(timeBudgetSeconds, 1e9) * 1000)
        let elapsed = { Figures.seconds(Double(augur_clock_ms() - started) / 1000) }
        let workload = captured.statements, columns = captured.columns
        var costing = try planner(schema: schema, for: captured)
        defer { costing.cleanUp() }
        try costing.begin()
        try SPI.progress("index advice over \(workload.count) statements, \(columns.values.map(\.count).reduce(0, +)) candidate columns in \(columns.count) tables")
        var existing: [String: [[String]]] = [:]
        for row in try SPI.query(existingIndexes) {
            guard let table = row["table_name"]?.text, let keys = row["key_columns"]?.text else { continue }
            existing[table, default: []].append(keys.split(separator: ",").map(String.init))
        }
        var brinColumns: [String: [String]] = [:]
        for row in try SPI.query(physicallyOrdered) {
            guard let table = row["table_name"]?.text, let column = row["column_name"]?.text,
                  captured.rangeFiltered.contains("\(table) \(column)") else { continue }
            brinColumns[table, default: []].append(column)
        }
        let options = IndexSelection.Options(budgetBytes: budgetBytes)
        let result = try IndexSelection.extend(statements: workload, columns: columns, brinColumns: brinColumns,
                                               readColumns: captured.readColumns, predicates: try partialPredicates(),
                                               existing: existing, options: options,
                                               costing: &costing, progress: { step, index, cost in
            try SPI.progress("index advice step \(step) after \(elapsed()) of \(Figures.seconds(timeBudgetSeconds)): "
                             + "\(index), workload cost \(Figures.whole(cost)) per day")
        }, timeIsUp: { augur_clock_ms() >= deadline })
        if result.stoppedEarly {
            try SPI.progress("index advice stopped at its time budget (\(Figures.seconds(timeBudgetSeconds))): "
                             + "the indexes chosen until then are proposed; a larger time_budget may find more")
        }
        try SPI.progress("index advice planned \(costing.plannable) of \(workload.count) statements "
                   + "(\(costing.plannedFromExamples.count) from their example executions, the others as generic plans), "
                   + "\(result.statementsCosted) configurations costed")
        return result.chosen.map { row($0, of: result, seenOnce: captured.seenOnce) }
    }

    /// Per table, `column = 'value'` where the example executions compared the column
    /// with one value (nine in ten of at least three) that few of its rows hold: partial
    /// indexes with that WHERE clause hold only the rows the workload asks for.
    private static func partialPredicates() throws -> [String: [String]] {
        var values: [String: [String]] = [:]   // "table column" -> the values sent
        for sent in try sentValues(role: "filter_equality", parameter: StatementConstants.equalityParameter(of:in:)) {
            values["\(sent.table) \(sent.column)", default: []].append(sent.value)
        }
        var predicates: [String: [String]] = [:]
        for key in values.keys.sorted() {
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = StatementConstants.dominantValue(values[key] ?? []),
                  let share = try SPI.query(valueShare, [parts[0], parts[1], value]).first?["share"]?.double,
                  share <= StatementConstants.maximumRowShare else { continue }
            predicates[parts[0], default: []].append("\(parts[1]) = \(SQLName.literal(value))")
        }
        return predicates
    }

    private static func row(_ choice: IndexSelection.Choice, of result: IndexSelection.Result,
                            seenOnce: Set<Int64>) -> Recommendations.Row {
        let saving = result.costBefore > 0 ? 100 * (result.costBefore - result.costAfter) / result.costBefore : 0
        return Recommendations.Row(
            target: choice.index.description,
            ddl: "CREATE INDEX CONCURRENTLY \(indexName(choice.index)) ON \(choice.index.table) \(choice.index.shape);",
            rollbackDDL: "DROP INDEX CONCURRENTLY \(SQLName.schema(of: choice.index.table)).\(indexName(choice.index));",
            reason: "helps \(choice.effects.count) quer\(choice.effects.count == 1 ? "y" : "ies"): "
                + "\(Figures.whole(choice.benefitPerDay)) planner cost units a day, about \(Figures.megabytes(choice.bytes))",
            evidence: JSONText.object([
                ("table", JSONText.string(choice.index.table)),
                ("columns", "[" + choice.index.columns.map(JSONText.string).joined(separator: ",") + "]"),
                ("method", JSONText.string(choice.index.method.rawValue)),
                ("include", "[" + choice.index.include.map(JSONText.string).joined(separator: ",") + "]"),
                ("predicate", choice.index.predicate.map(JSONText.string) ?? "null"),
                ("bytes", JSONText.number(choice.bytes)),
                ("benefit_per_day", JSONText.number(choice.benefitPerDay)),
                ("queries", JSONText.array(of: choice.effects.map(\.members))),
                ("writes", JSONText.array(of: choice.maintenance.map {
                    [("queryid", String($0.queryid)), ("calls_per_day", JSONText.number($0.callsPerDay)),
                     ("rate", JSONText.string(seenOnce.contains($0.queryid) ? "seen once: assumed at most once a day"
                                                                            : "as observed")),
                     ("maintenance_cost_per_day", JSONText.number($0.costPerDay))]
                })),
                ("workload_cost_saved_percent", JSONText.number(saving)),
                ("algorithm", JSONText.string("extend")),
            ]),
            benefit: choice.benefitPerDay, bytes: choice.bytes)
    }


    /// augur_<table>_<columns>[_covering][_<method>][_where_<predicate words>], lower-case
    /// letters, digits and underscores, within 63 bytes.
    static func indexName(_ index: IndexDesign) -> String {
        SQLName.plain([SQLName.relation(of: index.table)] + index.columns + (index.include.isEmpty ? [] : ["covering"])
                      + (index.method == .btree ? [] : [index.method.rawValue])
                      + (index.predicate.map { ["where"] + $0.split { !$0.isLetter && !$0.isNumber }.map(String.init) } ?? []))
    }
}

/// The planner's costs with hypothetical indexes, for exactly the indexes asked for. A
/// statement is planned from its latest example executions, with the constants and
/// parameters they were sent with (custom plans, averaged), so that skewed values are
/// priced as the workload uses them; without examples, from its normalized text as a
/// generic plan. Parameterized texts are prepared, explained and deallocated each time:
/// a cached plan would not see hypothetical indexes created after it.
struct HypoPGCosting: WhatIfCosting {
    struct Example {
        let text: String
        /// "('v1', 'v2')" for EXECUTE, nil when the text has its constants inline.
        let arguments: String?
        /// The role that sent it, which plans it again.
        let sender: RoleOID
    }

    static let examplesPerStatement = 5

    let schema: String
    let texts: [Int64: String]
    let senders: [Int64: RoleOID]
    let examples: [Int64: [Example]]
    private var plans: [Int64: Bool] = [:]
    private var sizes: [IndexDesign: Double] = [:]
    private var previousPlanCacheMode: String?
    private var planCacheMode: String?
    /// The hypothetical indexes hypopg holds now, by their hypothetical OIDs: a costing
    /// creates and drops only what differs from the previous one.
    private var hypothetical: [IndexDesign: String] = [:]
    private var prepared = PreparedExamples()
    /// Statements that could be planned.
    var plannable: Int { plans.values.filter { $0 }.count }
    /// Statements planned from examples rather than generic plans.
    private(set) var plannedFromExamples: Set<Int64> = []

    init(schema: String, texts: [Int64: String], senders: [Int64: RoleOID], examples: [Int64: [Example]]) {
        self.schema = schema
        self.texts = texts
        self.senders = senders
        self.examples = examples
    }

    mutating func begin() throws {
        previousPlanCacheMode = try SPI.query("SELECT current_setting('plan_cache_mode') AS mode").first?["mode"]?.text
    }

    /// Leaves no hypothetical index, prepared statement or setting behind, also after an error.
    mutating func cleanUp() {
        _ = try? SPI.execute("SELECT \(schema).hypopg_reset()")
        hypothetical = [:]
        prepared.deallocate()
        ExampleExplain.deallocate()
        if let previousPlanCacheMode {
            _ = try? SPI.execute("SELECT set_config('plan_cache_mode', $1, true)", [previousPlanCacheMode])
        }
    }

    mutating func cost(of statement: IndexSelection.Statement, with indexes: [IndexDesign]) throws -> Double? {
        let id = statement.queryid
        guard plans[id] != false else { return nil }
        try hypothesize(indexes)
        var costs: [Double] = []
        for example in examples[id] ?? [] {
            if let cost = try explainPrepared(example) { costs.append(cost) }
        }
        if costs.isEmpty {
            plannedFromExamples.remove(id)
            if let text = texts[id], let sender = senders[id] {
                let parameters = NormalizedStatement.parameterCount(text)
                let arguments = parameters == 0 ? nil : "(" + Array(repeating: "NULL", count: parameters).joined(separator: ", ") + ")"
                if let cost = try explain(NormalizedStatement.castingTypedLiterals(text), arguments: arguments, as: sender,
                                          planCacheMode: "force_generic_plan") {
                    costs.append(cost)
                }
            }
        } else {
            plannedFromExamples.insert(id)
        }
        plans[id] = !costs.isEmpty
        return costs.isEmpty ? nil : costs.reduce(0, +) / Double(costs.count)
    }

    /// Makes hypopg hold exactly `indexes`, dropping and creating only what changed.
    private mutating func hypothesize(_ indexes: [IndexDesign]) throws {
        let wanted = Set(indexes)
        for (index, oid) in hypothetical where !wanted.contains(index) {
            try SPI.execute("SELECT \(schema).hypopg_drop_index($1::oid)", [oid])
            hypothetical[index] = nil
        }
        for index in indexes where hypothetical[index] == nil {
            hypothetical[index] = try SPI.query("SELECT indexrelid::text AS oid FROM \(schema).hypopg_create_index($1)",
                                                [index.definition]).first?["oid"]?.text
        }
    }

    /// The planner's total cost of one statement, nil if it does not plan (its parameters'
    /// types cannot be inferred, a table or column is gone, …). A cancel is never swallowed.
    private mutating func explain(_ text: String, arguments: String?, as sender: RoleOID, planCacheMode: String) throws -> Double? {
        try plannable {
            if arguments != nil { try $0.setPlanCacheMode(planCacheMode) }
            return try ExampleExplain.explain(text, arguments: arguments, as: sender, options: "FORMAT JSON")
        }
    }

    /// An example execution's custom plan, its text prepared once for every costing.
    private mutating func explainPrepared(_ example: Example) throws -> Double? {
        try plannable {
            guard let arguments = example.arguments else {
                return try ExampleExplain.explain(example.text, arguments: nil, as: example.sender, options: "FORMAT JSON")
            }
            try $0.setPlanCacheMode("force_custom_plan")
            return try $0.prepared.explain(example.text, arguments: arguments, as: example.sender, options: "FORMAT JSON")
        }
    }

    private mutating func plannable(_ explain: (inout Self) throws -> String?) throws -> Double? {
        do {
            return try explain(&self).flatMap(NormalizedStatement.totalCost(ofExplainJSON:))
        } catch let error as PGError where !error.isInterruption {
            return nil
        }
    }

    private mutating func setPlanCacheMode(_ mode: String) throws {
        guard planCacheMode != mode else { return }
        try SPI.execute("SELECT set_config('plan_cache_mode', $1, true)", [mode])
        planCacheMode = mode
    }

    /// The index's size once built: for a B-tree estimated from the table's statistics,
    /// deduplication included (`IndexSizeEstimate`); hypopg's estimate for BRIN, or when a
    /// column has no statistics.
    mutating func bytes(of index: IndexDesign) throws -> Double {
        if let known = sizes[index] { return known }
        let stats = try SPI.query(Self.columnStatistics, [index.table, PostgresArray.literal(index.columns + index.include)])
        var columns: [IndexSizeEstimate.Column] = []
        for row in stats {
            guard let distinct = row["distinct_values"]?.double, let width = row["width"]?.double,
                  case .bool(let deduplicates)? = row["deduplicates"] else { break }
            // An index with INCLUDE columns does not deduplicate.
            columns.append(.init(distinct: distinct, width: width, deduplicates: deduplicates && index.include.isEmpty))
        }
        let size: Double
        if index.method == .btree, let rows = stats.first?["rows"]?.double, rows >= 0,
           columns.count == index.columns.count + index.include.count {
            size = IndexSizeEstimate.bytes(rows: rows, columns: columns)
        } else {
            try SPI.execute("SELECT \(schema).hypopg_reset()")
            hypothetical = [:]
            size = try SPI.query("SELECT \(schema).hypopg_relation_size(indexrelid)::float8 AS bytes FROM \(schema).hypopg_create_index($1)",
                                 [index.definition]).first?["bytes"]?.double ?? 0
        }
        sizes[index] = size
        return size
    }

    /// Per key column, in order: the table's rows, the column's distinct values and average
    /// width, and whether its type deduplicates in a B-tree. NULLs where ANALYZE has not run.
    private static let columnStatistics = """
        SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples END::float8 AS rows,
               (CASE WHEN s.n_distinct >= 0 THEN s.n_distinct ELSE -s.n_distinct * greatest(c.reltuples, 0) END)::float8
                   AS distinct_values,
               s.avg_width::float8 AS width,
               t.typname NOT IN ('numeric', 'float4', 'float8', 'jsonb') AS deduplicates
          FROM unnest($2::text[]) WITH ORDINALITY AS k(name, position)
          JOIN pg_catalog.pg_class c ON c.oid = $1::regclass
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND quote_ident(a.attname) = k.name AND NOT a.attisdropped
          LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
          LEFT JOIN pg_catalog.pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
                                         AND NOT s.inherited
         ORDER BY k.position
        """
}

extension PGError {
    /// A cancel, a timeout or a shutdown: never swallowed.
    var isInterruption: Bool { sqlstate.description.hasPrefix("57") }
}

@_cdecl("augur_swift_recommend_new_indexes")
func augurSwiftRecommendNewIndexes(_ budgetBytes: Double, _ timeBudgetSeconds: Double, _ proposed: UnsafeMutablePointer<Int64>,
                                   _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        proposed.pointee = Int64(try IndexCreationAdvice.refresh(budgetBytes: budgetBytes, timeBudgetSeconds: timeBudgetSeconds))
        return true
    }
}

extension IndexSelection.Effect {
    /// As the evidence shows it: queryid, calls_per_day, cost_before, cost_after.
    var members: [(String, String)] {
        [("queryid", String(queryid)), ("calls_per_day", JSONText.number(callsPerDay)),
         ("cost_before", JSONText.number(costWithout)), ("cost_after", JSONText.number(costWith))]
    }
}
