/// Which existing indexes to drop: exact duplicates, B-tree indexes whose columns lead
/// another B-tree index on the same table, and indexes unused since statistics began.
/// An index that is a primary key, unique, or backs a constraint is never proposed.
public enum IndexDropAdvice {
    /// What the catalog and the statistics say about one valid index.
    public struct Index: Equatable, Sendable {
        public var name: String             // schema.index, as SQL shows it
        public var table: String            // schema.table
        public var method: String           // btree, hash, gin, ...
        /// The key columns in order, each as "attnum:opclass:collation:option" (attnum 0
        /// for an expression), and what else the index holds: its expressions' text and
        /// INCLUDE columns. Equal keys and extras index the same thing.
        public var keys: [String]
        public var extras: String
        public var predicate: String?
        public var isProtected: Bool        // primary key, unique, or backing a constraint
        public var bytes: Int64
        public var scans: Int64
        public var definition: String       // pg_get_indexdef: the rollback

        public init(name: String, table: String, method: String, keys: [String], extras: String,
                    predicate: String?, isProtected: Bool, bytes: Int64, scans: Int64, definition: String) {
            self.name = name
            self.table = table
            self.method = method
            self.keys = keys
            self.extras = extras
            self.predicate = predicate
            self.isProtected = isProtected
            self.bytes = bytes
            self.scans = scans
            self.definition = definition
        }
    }

    public enum Reason: Equatable, Sendable {
        case duplicate(of: String)
        case redundantPrefix(of: String)
        case unused(statisticsDays: Int)

        /// One line a DBA can read.
        public var sentence: String {
            switch self {
            case .duplicate(let other): "duplicates \(other): same table, columns, method and predicate"
            case .redundantPrefix(let other): "its columns lead \(other), which serves the same lookups"
            case .unused(let days): "not scanned once in the \(days) days statistics cover"
            }
        }

        public var kind: String {
            switch self {
            case .duplicate: "duplicate"
            case .redundantPrefix: "redundant_prefix"
            case .unused: "unused"
            }
        }
    }

    public struct Advice: Equatable, Sendable {
        public var index: Index
        public var reason: Reason
    }

    /// - Parameter statisticsAge: seconds the scan counts cover; unused indexes are
    ///   proposed only when that is at least `unusedAfter` seconds.
    public static func advise(_ indexes: [Index], statisticsAge: Double, unusedAfter: Double) -> [Advice] {
        var advice: [Advice] = []
        var proposed = Set<String>()
        func propose(_ index: Index, _ reason: Reason) {
            guard !index.isProtected, proposed.insert(index.name).inserted else { return }
            advice.append(Advice(index: index, reason: reason))
        }
        let ordered = indexes.sorted { ($0.table, $0.name) < ($1.table, $1.name) }
        for (i, index) in ordered.enumerated() {
            for other in ordered[(i + 1)...] where other.table == index.table {
                guard index.method == other.method, index.predicate == other.predicate,
                      index.keys == other.keys, index.extras == other.extras else { continue }
                // Keep the protected one, else the more used one, else the first by name.
                let drop = index.isProtected || (!other.isProtected && other.scans < index.scans) ? other : index
                propose(drop, .duplicate(of: drop.name == index.name ? other.name : index.name))
            }
        }
        // A plain B-tree (no expression, no INCLUDE, no predicate) whose keys, opclasses
        // and orderings lead another B-tree's.
        for index in ordered where index.method == "btree" && index.predicate == nil && index.extras.isEmpty {
            let longer = ordered.first { other in
                other.table == index.table && other.name != index.name && other.method == "btree"
                    && other.predicate == nil && other.keys.count > index.keys.count
                    && Array(other.keys.prefix(index.keys.count)) == index.keys && !proposed.contains(other.name)
            }
            if let longer { propose(index, .redundantPrefix(of: longer.name)) }
        }
        if statisticsAge >= unusedAfter {
            for index in ordered where index.scans == 0 {
                propose(index, .unused(statisticsDays: Int(statisticsAge / 86_400)))
            }
        }
        return advice
    }
}
