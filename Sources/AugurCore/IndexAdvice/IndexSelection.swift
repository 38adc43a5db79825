/// Which B-tree indexes to create for a captured workload, under a storage budget.
///
/// The search is Extend (Schlosser, Kossmann, Boissier, "Efficient Scalable Multi-attribute
/// Index Selection Using Recursive Strategies", ICDE 2019), which Kossmann et al. (VLDB
/// 2020) found best or tied with DB2Advis among the index selection algorithms they
/// compared: start with no index; at each step either add a one-column index or append
/// one column to an index already chosen, whichever cuts the workload's cost most per
/// byte it adds; stop when nothing fits the budget or helps. Interactions are priced in,
/// because every step is costed with the whole configuration (an index that makes
/// another useless gains nothing). Write cost is priced in as well: each index on a
/// table costs its writes a maintenance charge per row.
///
/// Costs come from a `WhatIfCosting` (the planner with hypothetical indexes in the
/// server, a table in tests); this file only decides.
public protocol WhatIfCosting {
    /// The planner's total cost of one statement when exactly `indexes` (all on tables it
    /// reads) exist besides the real ones; nil if it cannot be planned.
    mutating func cost(of statement: IndexSelection.Statement, with indexes: [IndexDesign]) throws -> Double?
    /// The estimated size of an index, in bytes.
    mutating func bytes(of index: IndexDesign) throws -> Double
}

/// An index: a table, its access method and its key columns, in order (identifiers
/// already quoted).
public struct IndexDesign: Hashable, Sendable, CustomStringConvertible {
    public enum Method: String, Sendable {
        case btree
        /// Block ranges: tiny, and fast for range filters on a column that follows the
        /// table's physical order.
        case brin
    }

    public let table: String
    public let columns: [String]
    public let method: Method
    /// Columns a B-tree carries besides its keys, so that a query reading only these and
    /// the keys runs as an index-only scan.
    public let include: [String]
    /// A partial index's WHERE clause (`state = 'new'`): it holds only the rows the
    /// workload asks for.
    public let predicate: String?

    public init(table: String, columns: [String], method: Method = .btree, include: [String] = [],
                predicate: String? = nil) {
        self.table = table
        self.columns = columns
        self.method = method
        self.include = include
        self.predicate = predicate
    }

    /// What follows `ON table` in CREATE INDEX: "USING brin " where the method is not the
    /// default, the key columns, the INCLUDE list and the WHERE clause if any.
    public var shape: String {
        (method == .btree ? "" : "USING \(method.rawValue) ") + "(\(columns.joined(separator: ", ")))"
            + (include.isEmpty ? "" : " INCLUDE (\(include.joined(separator: ", ")))")
            + (predicate.map { " WHERE \($0)" } ?? "")
    }
    public var definition: String { "CREATE INDEX ON \(table) \(shape)" }
    public var description: String { "\(table) \(shape)" }
}

public enum IndexSelection {
    /// One captured statement as the selection sees it.
    public struct Statement: Hashable, Sendable {
        public let queryid: Int64
        /// Executions per day of workload.
        public let callsPerDay: Double
        /// Tables it reads, whose indexes can change its plan.
        public let tables: Set<String>
        /// Per table, the index keys it filters, joins, groups or orders by: an index
        /// leading with none of them leaves its plan as it is, so it is not planned again
        /// for that index. Nil: any index on its tables may change its plan.
        public let keys: [String: Set<String>]?
        /// Per table it writes: rows written per call, and the columns it changes (nil for
        /// INSERT and DELETE, which touch every index).
        public let writes: [String: Write]

        public struct Write: Hashable, Sendable {
            public let rowsPerCall: Double
            public let columns: Set<String>?
            public init(rowsPerCall: Double, columns: Set<String>?) {
                self.rowsPerCall = rowsPerCall
                self.columns = columns
            }
        }

        public init(queryid: Int64, callsPerDay: Double, tables: Set<String>, writes: [String: Write] = [:],
                    keys: [String: Set<String>]? = nil) {
            self.queryid = queryid
            self.callsPerDay = callsPerDay
            self.tables = tables
            self.writes = writes
            self.keys = keys
        }

        /// Whether `index` may change this statement's plan.
        public func mayUse(_ index: IndexDesign) -> Bool {
            guard tables.contains(index.table) else { return false }
            guard let keys else { return true }
            return index.columns.first.map { keys[index.table]?.contains($0) ?? false } ?? false
        }
    }

    public struct Options: Sendable {
        public var budgetBytes: Double
        /// Planner cost units an index adds per row written (an index tuple inserted, its
        /// page dirtied): about a page access.
        public var maintenanceCostPerRow: Double = 2
        public var maxColumns = 4
        public var maxSteps = 64
        /// A step must save at least this share of the workload's cost.
        public var minimumGain = 0.00001

        public init(budgetBytes: Double) { self.budgetBytes = budgetBytes }
    }

    /// What one chosen index does to one statement.
    public struct Effect: Equatable, Sendable {
        public let queryid: Int64
        public let callsPerDay: Double
        public let costWithout: Double
        public let costWith: Double

        public init(queryid: Int64, callsPerDay: Double, costWithout: Double, costWith: Double) {
            self.queryid = queryid
            self.callsPerDay = callsPerDay
            self.costWithout = costWithout
            self.costWith = costWith
        }
    }

    public struct Choice: Equatable, Sendable {
        public let index: IndexDesign
        public let bytes: Double
        /// Cost per day saved by this index given the others chosen, writes included.
        public let benefitPerDay: Double
        public let effects: [Effect]
        /// The statements it costs: those writing rows it must maintain, with what that
        /// adds per day.
        public let maintenance: [Maintenance]
    }

    /// What keeping one index up to date adds to one writing statement's cost.
    public struct Maintenance: Equatable, Sendable {
        public let queryid: Int64
        public let callsPerDay: Double
        public let costPerDay: Double
    }

    public struct Result: Equatable, Sendable {
        public let chosen: [Choice]
        public let costBefore: Double
        public let costAfter: Double
        public let statementsCosted: Int
        /// The search stopped because `timeIsUp` said so: what was chosen until then.
        public let stoppedEarly: Bool
    }

    /// Runs Extend over `columns` (per table, the columns the workload filters, joins,
    /// groups or orders by), and one-column BRIN indexes on `brinColumns` (per table,
    /// range-filtered columns in physical order), and INCLUDE lists from `readColumns` (per
    /// table, the column sets single statements read from it), and partial B-trees for
    /// `predicates` (per table, WHERE clauses the workload's filters always satisfy). A
    /// B-tree whose columns lead one of the table's `existing` B-tree indexes (per table,
    /// their key columns) is never proposed: that one serves. `progress` is told each step
    /// taken; `timeIsUp`, asked before each configuration is costed, ends the search with
    /// the steps taken so far.
    public static func extend<Costing: WhatIfCosting>(
        statements: [Statement], columns: [String: [String]], brinColumns: [String: [String]] = [:],
        readColumns: [String: [[String]]] = [:], predicates: [String: [String]] = [:],
        existing: [String: [[String]]] = [:], options: Options,
        costing: inout Costing, progress: (Int, IndexDesign, Double) throws -> Void = { _, _, _ in },
        timeIsUp: () -> Bool = { false }
    ) throws -> Result {
        var model = Model(statements: statements, options: options)
        var configuration: [IndexDesign] = []
        var size = 0.0
        var cost = try model.workloadCost(configuration, &costing)
        let initial = cost
        var stoppedEarly = false
        // Each move's saving per byte when it was last costed. A move saves less, not more,
        // once other indexes serve its statements, so a step costs its moves best-first by
        // that figure (never-costed ones first) and stops once the best it costed afresh
        // beats what the next could at most save: lazy greedy, the same choice for far
        // fewer plans.
        var lastRatio: [IndexDesign: Double] = [:]
        for step in 1...max(1, options.maxSteps) {
            var best: (configuration: [IndexDesign], cost: Double, size: Double, ratio: Double, added: IndexDesign)?
            let candidates = moves(from: configuration, columns: columns, brinColumns: brinColumns, readColumns: readColumns,
                                   predicates: predicates, maxColumns: options.maxColumns)
                .filter { move in
                    move.added.method != .btree
                        || !(existing[move.added.table] ?? []).contains(where: { $0.starts(with: move.added.columns) })
                }
                .enumerated()
                .sorted { (lastRatio[$0.element.added] ?? .infinity, -$0.offset) > (lastRatio[$1.element.added] ?? .infinity, -$1.offset) }
                .map(\.element)
            for move in candidates {
                if let best, let bound = lastRatio[move.added], bound <= best.ratio { break }
                if timeIsUp() {
                    stoppedEarly = true
                    break
                }
                let added = try costing.bytes(of: move.added) - (try move.replaced.map { try costing.bytes(of: $0) } ?? 0)
                // The configuration only grows, so a move that does not fit now never will.
                guard added > 0, size + added <= options.budgetBytes else {
                    lastRatio[move.added] = -.infinity
                    continue
                }
                let next = configuration.filter { $0 != move.replaced } + [move.added]
                let nextCost = try model.workloadCost(next, &costing)
                let gain = cost - nextCost
                let ratio = gain / added
                lastRatio[move.added] = ratio
                guard gain > options.minimumGain * max(initial, 1) else { continue }
                if best == nil || ratio > best!.ratio {
                    best = (next, nextCost, size + added, ratio, move.added)
                }
            }
            guard !stoppedEarly, let chosen = best else { break }
            configuration = chosen.configuration
            cost = chosen.cost
            size = chosen.size
            try progress(step, chosen.added, cost)
        }
        // An index a later step made useless (a B-tree that does a BRIN's work better, a
        // wider index that serves a narrower one's queries) saves nothing given the rest: it goes.
        while let useless = try configuration.first(where: { index in
            try model.workloadCost(configuration.filter { $0 != index }, &costing) - cost
                <= options.minimumGain * max(initial, 1)
        }) {
            configuration.removeAll { $0 == useless }
            cost = try model.workloadCost(configuration, &costing)
        }
        var choices: [Choice] = []
        for index in configuration {
            let without = configuration.filter { $0 != index }
            var effects: [Effect] = []
            for statement in statements where statement.mayUse(index) {
                guard let with = try model.statementCost(statement, configuration, &costing),
                      let before = try model.statementCost(statement, without, &costing), with != before else { continue }
                effects.append(Effect(queryid: statement.queryid, callsPerDay: statement.callsPerDay,
                                      costWithout: before, costWith: with))
            }
            let benefit = try model.workloadCost(without, &costing) - cost
            choices.append(Choice(index: index, bytes: try costing.bytes(of: index), benefitPerDay: benefit,
                                  effects: effects.sorted { ($0.costWithout - $0.costWith) * $0.callsPerDay
                                                              > ($1.costWithout - $1.costWith) * $1.callsPerDay },
                                  maintenance: model.maintenance(of: index)))
        }
        return Result(chosen: choices.sorted { $0.benefitPerDay > $1.benefitPerDay }, costBefore: initial,
                      costAfter: cost, statementsCosted: model.costed, stoppedEarly: stoppedEarly)
    }

    /// Extend's moves: a new one-column index (B-tree, partial B-tree for each of the
    /// table's predicates, or BRIN where it fits), one more key column on a chosen B-tree,
    /// or an INCLUDE list that covers what one statement reads from the table (at most
    /// `maxColumns` columns in all).
    public static func moves(from configuration: [IndexDesign], columns: [String: [String]], brinColumns: [String: [String]],
                      readColumns: [String: [[String]]] = [:], predicates: [String: [String]] = [:],
                      maxColumns: Int) -> [(added: IndexDesign, replaced: IndexDesign?)] {
        var moves: [(IndexDesign, IndexDesign?)] = []
        for (candidates, method) in [(columns, IndexDesign.Method.btree), (brinColumns, .brin)] {
            for table in candidates.keys.sorted() {
                let wheres: [String?] = method == .btree ? [nil] + (predicates[table] ?? []) : [nil]
                for column in candidates[table] ?? [] {
                    for predicate in wheres where !configuration.contains(where: {
                        $0.table == table && $0.method == method && $0.columns.first == column && $0.predicate == predicate
                    }) {
                        moves.append((IndexDesign(table: table, columns: [column], method: method, predicate: predicate), nil))
                    }
                }
            }
        }
        for index in configuration where index.method == .btree && index.include.isEmpty {
            for column in columns[index.table] ?? [] where index.columns.count < maxColumns && !index.columns.contains(column) {
                let wider = IndexDesign(table: index.table, columns: index.columns + [column], predicate: index.predicate)
                if !configuration.contains(wider) { moves.append((wider, index)) }
            }
            for read in readColumns[index.table] ?? [] {
                let extra = read.filter { !index.columns.contains($0) }
                guard !extra.isEmpty, index.columns.count + extra.count <= maxColumns else { continue }
                let covering = IndexDesign(table: index.table, columns: index.columns, include: extra, predicate: index.predicate)
                if !configuration.contains(covering) { moves.append((covering, index)) }
            }
        }
        return moves
    }

    /// The workload's cost under a configuration, remembering each statement's cost per
    /// set of indexes on its tables (most moves change one table).
    struct Model {
        let statements: [Statement]
        let options: Options
        var cache: [Key: Double?] = [:]
        var costed = 0

        struct Key: Hashable {
            let queryid: Int64
            let indexes: Set<IndexDesign>
        }

        init(statements: [Statement], options: Options) {
            self.statements = statements
            self.options = options
        }

        mutating func statementCost<Costing: WhatIfCosting>(_ statement: Statement, _ configuration: [IndexDesign],
                                                          _ costing: inout Costing) throws -> Double? {
            let relevant = configuration.filter(statement.mayUse)
            let key = Key(queryid: statement.queryid, indexes: Set(relevant))
            if let known = cache[key] { return known }
            let cost = try costing.cost(of: statement, with: relevant)
            cache[key] = cost
            costed += 1
            return cost
        }

        mutating func workloadCost<Costing: WhatIfCosting>(_ configuration: [IndexDesign],
                                                         _ costing: inout Costing) throws -> Double {
            var total = 0.0
            for statement in statements {
                total += statement.callsPerDay * (try statementCost(statement, configuration, &costing) ?? 0)
                for index in configuration { total += maintenanceCostPerDay(of: index, by: statement) }
            }
            return total
        }

        /// What `statement` pays a day to keep `index` up to date: every row it inserts
        /// or deletes, and the rows it updates where it changes an indexed column.
        func maintenanceCostPerDay(of index: IndexDesign, by statement: Statement) -> Double {
            guard let write = statement.writes[index.table],
                  write.columns.map({ !$0.isDisjoint(with: index.columns + index.include) }) ?? true else { return 0 }
            return statement.callsPerDay * write.rowsPerCall * options.maintenanceCostPerRow
        }

        func maintenance(of index: IndexDesign) -> [Maintenance] {
            statements.compactMap { statement in
                let cost = maintenanceCostPerDay(of: index, by: statement)
                return cost > 0 ? Maintenance(queryid: statement.queryid, callsPerDay: statement.callsPerDay, costPerDay: cost) : nil
            }.sorted { $0.costPerDay > $1.costPerDay }
        }
    }
}
