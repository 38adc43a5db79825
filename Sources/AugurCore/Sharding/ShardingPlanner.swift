/// Learns a sharding plan from sampled transactions.
///
/// 1. Key classes: columns whose values the same transactions share (warehouse ids in
///    every table that has one) are one class; distributing every table by its column of
///    a class keeps a transaction on the node of its value.
/// 2. One plan per class (each table by its column of the class; others reference tables
///    if small and read-mostly, else local), scored on the transactions; the best is then
///    improved one table at a time while that lowers the share of transactions touching
///    more than one node.
/// 3. The key values of the chosen plan are partitioned over the nodes (values used, or
///    predicted to be used, together on one node; accesses balanced) where that beats
///    hashing them; from a plan in use, moving as few keys as the new node count needs.
public enum ShardingPlanner {
    public struct Table: Sendable {
        public let name: String
        public let rows: Double
        /// The share of the statements using the table (by calls) that write it.
        public let writeShare: Double
        /// Columns it may be distributed by: those compared by equality or joined on.
        public let columns: [String]

        /// Its primary and unique keys' columns: Citus distributes a table only by a column
        /// each of them includes.
        public let uniqueKeys: [[String]]

        /// The columns it may be distributed by.
        public var distributableColumns: [String] {
            columns.filter { column in uniqueKeys.allSatisfy { $0.contains(column) } }
        }

        public init(name: String, rows: Double, writeShare: Double, columns: [String], uniqueKeys: [[String]] = []) {
            self.name = name
            self.rows = rows
            self.writeShare = writeShare
            self.uniqueKeys = uniqueKeys
            self.columns = columns
        }
    }

    public struct Options: Sendable {
        /// Reference tables: at most this many rows, and at most this share of writes.
        public var referenceMaxRows = 100_000.0
        public var referenceMaxWriteShare = 0.01
        /// The busiest node may serve at most (1 + imbalance) × the mean of the accesses.
        public var imbalance = 0.10
        public var seed: UInt64 = 1
        /// A transaction this many seconds older than the latest learned from counts half.
        public var halfLife = Double.infinity
        /// How the key graph predicts.
        public var keys = KeyCoaccess.Options()
        /// Choices made by the DBA (an existing split: a tenant column every table that has
        /// it is distributed by), kept in every plan considered.
        public var fixed: [String: TableChoice] = [:]
        /// The plan in use, if any: when the tables are chosen as it chose them, its keys
        /// stay where it placed them unless the balance over `nodes` needs them moved.
        public var previous: ShardingPlan?

        public init() {}
    }

    /// A plan considered, with its score on the training transactions.
    public struct Candidate: Sendable {
        public let name: String
        public let plan: ShardingPlan
        public let score: ShardingPlan.Score
    }

    public struct Outcome: Sendable {
        public let plan: ShardingPlan
        public let score: ShardingPlan.Score
        /// The class plans it started from and the chosen one before key placement.
        public let alternatives: [Candidate]
        /// Per table, why it was given its choice.
        public let reasons: [String: String]
        /// Of the keys `Options.previous` placed, how many the plan puts on another node.
        public let moved: (keys: Int, of: Int)?
    }

    /// The search stopped because `cancelled` said so.
    public struct Cancelled: Error {}

    /// - Parameter cancelled: asked between the plans it scores; true stops the search.
    public static func plan(tables: [Table], training: [SampledTransaction], nodes: Int,
                            options: Options = Options(), cancelled: () -> Bool = { false }) throws(Cancelled) -> Outcome {
        let nodes = max(nodes, 1)
        let training = training.decayed(halfLife: options.halfLife)
        let byName = Dictionary(tables.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let compared = comparisons(training)
        func referenceFits(_ table: Table) -> Bool {
            table.rows <= options.referenceMaxRows && table.writeShare <= options.referenceMaxWriteShare
        }
        // Tables are chosen with their keys hashed: fewer transactions on several nodes,
        // then evener. Placing the keys then trades within the balance first.
        func fewerDistributed(_ a: ShardingPlan.Score, _ b: ShardingPlan.Score) -> Bool {
            (a.distributedShare, a.accessBalance) < (b.distributedShare, b.accessBalance)
        }
        func balancedFirst(_ a: ShardingPlan.Score, _ b: ShardingPlan.Score) -> Bool {
            let limit = 1 + options.imbalance + 1e-9
            return (a.accessBalance > limit ? 1 : 0, a.distributedShare, a.accessBalance)
                < (b.accessBalance > limit ? 1 : 0, b.distributedShare, b.accessBalance)
        }
        // One plan per key class.
        var alternatives: [Candidate] = []
        for members in keyClasses(training, columns: tables) {
            if cancelled() { throw Cancelled() }
            var choices: [String: TableChoice] = [:]
            for table in tables {
                let own = members.filter { $0.table == table.name && table.distributableColumns.contains($0.column) }
                    .max { (compared[$0] ?? 0, $1.column) < (compared[$1] ?? 0, $0.column) }
                choices[table.name] = own.map { .distributed(column: $0.column) } ?? (referenceFits(table) ? .reference : .local)
            }
            let plan = ShardingPlan(nodes: nodes, choices: choices.merging(options.fixed) { _, fixed in fixed })
            // A class none of whose columns may distribute a table distributes nothing: no plan.
            guard plan.choices.values.contains(where: { if case .distributed = $0 { return true } else { return false } }) else {
                continue
            }
            let name = "by " + members.map { "\($0.table).\($0.column)" }.sorted().joined(separator: ", ")
            alternatives.append(Candidate(name: name, plan: plan, score: plan.score(training)))
        }
        let keyless = ShardingPlan(nodes: nodes, choices: Dictionary(uniqueKeysWithValues: byName.values.map {
            ($0.name, options.fixed[$0.name] ?? (referenceFits($0) ? TableChoice.reference : .local))
        }))
        var best = alternatives.min { fewerDistributed($0.score, $1.score) }
            ?? Candidate(name: "no key compared", plan: keyless, score: keyless.score(training))
        // One table at a time, while that helps.
        let used = Set(training.filter { $0.weight > 0 }.flatMap(\.tables))
        for _ in 0..<3 {
            var improved = false
            for table in tables.sorted(by: { $0.name < $1.name }) where options.fixed[table.name] == nil {
                // Local only for a table no column of which may distribute it: keeping
                // everything on the coordinator would touch one node, and scale nothing.
                let distributable = table.distributableColumns
                var tried: [TableChoice] = distributable.isEmpty ? [.local] : distributable.map { .distributed(column: $0) }
                if referenceFits(table) { tried.insert(.reference, at: 0) }
                for choice in tried where choice != best.plan.choices[table.name] {
                    if cancelled() { throw Cancelled() }
                    var choices = best.plan.choices
                    choices[table.name] = choice
                    let plan = ShardingPlan(nodes: nodes, choices: choices)
                    let score = plan.score(training)
                    // A table the transactions use leaves the coordinator when that puts no
                    // more of them on several nodes: what is distributed scales, what is
                    // local does not.
                    let leavesCoordinator = best.plan.choices[table.name] == .local && choice != .local
                        && used.contains(table.name) && score.distributedShare <= best.score.distributedShare
                    if fewerDistributed(score, best.score) || leavesCoordinator {
                        best = Candidate(name: "improved", plan: plan, score: score)
                        improved = true
                    }
                }
            }
            if !improved { break }
        }
        alternatives.append(Candidate(name: "chosen, keys hashed", plan: best.plan, score: best.score))
        // Key placement: the chosen plan's key values partitioned over the nodes.
        if cancelled() { throw Cancelled() }
        var final = best
        let placed = ShardingPlan(nodes: nodes, choices: best.plan.choices,
                                  placements: placements(best.plan, training: training, options: options))
        let placedScore = placed.score(training)
        if balancedFirst(placedScore, best.score) { final = Candidate(name: "chosen", plan: placed, score: placedScore) }
        var reasons: [String: String] = [:]
        for table in tables {
            switch final.plan.choices[table.name] ?? .local {
            case .distributed(let column):
                let share = compared[ColumnKey(table: table.name, column: column)] ?? 0
                let touching = training.filter { $0.tables.contains(table.name) }.map(\.weight).reduce(0, +)
                reasons[table.name] = (options.fixed[table.name] == nil ? "distributed by \(column): " : "distributed by \(column), the split asked for: ")
                    + "\(Figures.whole(100 * share / max(touching, 1e-9)))% of the transactions touching it compare it"
            case .reference:
                reasons[table.name] = "reference table: \(Figures.whole(table.rows)) rows, "
                    + "\(Figures.whole(100 * table.writeShare))% of its statements write it"
            case .local:
                reasons[table.name] = table.columns.isEmpty
                    ? "local: no column of it is compared by equality or joined on"
                    : table.distributableColumns.isEmpty
                    ? "local: each column it is compared on is missing from one of its primary or unique keys, which Citus requires"
                    : "local: distributing it by any of its columns would put more transactions on several nodes"
            }
        }
        let moved = options.previous.map { previous in
            (keys: previous.placements.keys.filter { previous.node(of: $0) != final.plan.node(of: $0) }.count,
             of: previous.placements.count)
        }
        return Outcome(plan: final.plan, score: final.score, alternatives: alternatives, reasons: reasons, moved: moved)
    }

    struct ColumnKey: Hashable {
        let table: String
        let column: String
    }

    /// How many transactions (weighted) compared each column.
    static func comparisons(_ transactions: [SampledTransaction]) -> [ColumnKey: Double] {
        var counts: [ColumnKey: Double] = [:]
        for transaction in transactions {
            for (table, columns) in transaction.keys {
                for column in columns.keys { counts[ColumnKey(table: table, column: column), default: 0] += transaction.weight }
            }
        }
        return counts
    }

    /// Candidate columns joined into classes: two columns of different tables are one class
    /// when, of the transactions comparing both, at least half gave both the same values
    /// (sets overlapping by at least half their union: a warehouse number merely falling
    /// among a transaction's ten order line numbers is not the same key).
    /// Classes in order of how many transactions compare their columns.
    static func keyClasses(_ transactions: [SampledTransaction], columns tables: [Table]) -> [[ColumnKey]] {
        let candidates = tables.flatMap { table in table.columns.map { ColumnKey(table: table.name, column: $0) } }
        let index = Dictionary(candidates.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var both: [Int: Double] = [:], same: [Int: Double] = [:]
        for transaction in transactions {
            let present = transaction.keys.flatMap { table, columns in
                columns.compactMap { column, values in index[ColumnKey(table: table, column: column)].map { ($0, values) } }
            }
            for (a, first) in present.enumerated() {
                for second in present[(a + 1)...] where candidates[first.0].table != candidates[second.0].table {
                    let pair = min(first.0, second.0) * candidates.count + max(first.0, second.0)
                    both[pair, default: 0] += transaction.weight
                    let shared = first.1.intersection(second.1).count
                    if 2 * shared >= first.1.count + second.1.count - shared { same[pair, default: 0] += transaction.weight }
                }
            }
        }
        var parent = Array(candidates.indices)
        func root(_ item: Int) -> Int {
            var item = item
            while parent[item] != item {
                parent[item] = parent[parent[item]]
                item = parent[item]
            }
            return item
        }
        for (pair, count) in both where (same[pair] ?? 0) >= 0.5 * count {
            parent[root(pair / candidates.count)] = root(pair % candidates.count)
        }
        let compared = comparisons(transactions)
        return Dictionary(grouping: candidates.indices.filter { compared[candidates[$0]] != nil }, by: root).values
            .map { $0.map { candidates[$0] } }
            .sorted { classWeight($0, compared) > classWeight($1, compared) || (classWeight($0, compared) == classWeight($1, compared) && "\($0)" < "\($1)") }
    }

    private static func classWeight(_ members: [ColumnKey], _ compared: [ColumnKey: Double]) -> Double {
        members.map { compared[$0] ?? 0 }.reduce(0, +)
    }

    /// The plan's key values placed over its nodes: the key co-access graph partitioned,
    /// or extended from the previous plan's placement when that chose the same tables
    /// (whose keys not seen since stay where it put them).
    static func placements(_ plan: ShardingPlan, training: [SampledTransaction], options: Options) -> [String: Int] {
        let coaccess = KeyCoaccess(plan: plan, transactions: training, options: options.keys)
        var partitionOptions = GraphPartitioner.Options()
        // Half the balance allowed: the partitioner balances the keys' accesses, the plan
        // is held to the nodes' (a transaction on two nodes counts half on each).
        partitionOptions.imbalance = options.imbalance / 2
        partitionOptions.seed = options.seed
        guard let previous = options.previous, previous.choices == plan.choices else {
            guard !coaccess.keys.isEmpty else { return [:] }
            let result = GraphPartitioner.partition(coaccess.graph, parts: plan.nodes, options: partitionOptions)
            return Dictionary(uniqueKeysWithValues: zip(coaccess.keys, result.assignment))
        }
        let result = GraphPartitioner.extend(coaccess.graph, from: coaccess.keys.map { previous.placements[$0] ?? -1 },
                                             parts: plan.nodes, options: partitionOptions)
        return previous.placements.filter { $0.value < plan.nodes }
            .merging(zip(coaccess.keys, result.assignment)) { _, placed in placed }
    }
}
