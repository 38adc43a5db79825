/// What a sharding plan is learned from and scored on: sampled transactions, each with the
/// tables it touched and the key values it compared by equality.
public struct SampledTransaction: Sendable {
    public let tables: Set<String>
    /// Per table, per column, the values compared with (as text).
    public let keys: [String: [String: Set<String>]]
    /// How many transactions it stands for (1 / the sample rate).
    public let weight: Double
    /// When it ended, in seconds on any fixed scale (the Unix epoch): older ones count less.
    public let endedAt: Double

    public init(tables: Set<String>, keys: [String: [String: Set<String>]], weight: Double = 1, endedAt: Double = 0) {
        self.tables = tables
        self.keys = keys
        self.weight = weight.isFinite && weight >= 0 ? weight : 1
        self.endedAt = endedAt.isFinite ? endedAt : 0
    }
}

extension [SampledTransaction] {
    /// Each transaction's weight decayed by its age, as the co-access graph decays calls:
    /// one `halfLife` seconds older than the latest counts half (infinity: no decay).
    public func decayed(halfLife: Double) -> [SampledTransaction] {
        guard halfLife.isFinite, halfLife > 0, let latest = map(\.endedAt).max() else { return self }
        return map {
            SampledTransaction(tables: $0.tables, keys: $0.keys, weight: $0.weight * exp2(-Swift.max(latest - $0.endedAt, 0) / halfLife),
                               endedAt: $0.endedAt)
        }
    }
}

/// What a plan does with one table.
public enum TableChoice: Hashable, Sendable {
    /// Hash-distributed by this column; tables distributed by columns holding the same
    /// values are co-located (a value's rows are on one node in all of them).
    case distributed(column: String)
    /// Copied to every node: joins with it stay local; for small tables read far more
    /// than written.
    case reference
    /// Left on the coordinator.
    case local
}

/// A sharding plan: each table's choice, and the nodes of the key values that were seen
/// (keys partitioned so that those used together share a node); a value never seen goes
/// by consistent hashing.
public struct ShardingPlan: Equatable, Sendable {
    public let nodes: Int
    public let choices: [String: TableChoice]
    public let placements: [String: Int]

    public init(nodes: Int, choices: [String: TableChoice], placements: [String: Int] = [:]) {
        self.nodes = max(nodes, 1)
        self.choices = choices
        self.placements = placements
    }

    public func node(of value: String) -> Int {
        placements[value] ?? ConsistentPlacement.node(ofHash: ConsistentPlacement.hash(value), nodes: nodes)
    }

    /// The nodes a transaction touches, -1 standing for the coordinator's local tables;
    /// nil when it reads a distributed table without its key (every node).
    public func nodes(of transaction: SampledTransaction) -> Set<Int>? {
        var touched: Set<Int> = []
        for table in transaction.tables {
            switch choices[table] ?? .local {
            case .reference:
                continue
            case .local:
                touched.insert(-1)
            case .distributed(let column):
                guard let values = transaction.keys[table]?[column], !values.isEmpty else { return nil }
                for value in values { touched.insert(node(of: value)) }
            }
        }
        return touched
    }

    public struct Score: Equatable, Sendable {
        /// Transactions scored (weighted by what each stands for).
        public let transactions: Double
        /// The share of them that would touch more than one node.
        public let distributedShare: Double
        /// The busiest node's accesses over the mean (1 is even).
        public let accessBalance: Double
    }

    public func score(_ transactions: [SampledTransaction]) -> Score {
        var total = 0.0, distributed = 0.0
        var accesses = [Double](repeating: 0, count: nodes)
        for transaction in transactions {
            total += transaction.weight
            guard let touched = nodes(of: transaction) else {
                distributed += transaction.weight
                for node in accesses.indices { accesses[node] += transaction.weight / Double(nodes) }
                continue
            }
            if touched.count > 1 { distributed += transaction.weight }
            let onNodes = touched.filter { $0 >= 0 }
            for node in onNodes { accesses[node] += transaction.weight / Double(onNodes.count) }
        }
        let mean = accesses.reduce(0, +) / Double(nodes)
        return Score(transactions: total, distributedShare: total > 0 ? distributed / total : 0,
                     accessBalance: mean > 0 ? (accesses.max() ?? 0) / mean : 1)
    }
}
