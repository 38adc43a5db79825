import Foundation

/// A Citus cluster on loopback ports: a coordinator and workers, each a `Cluster` with
/// `shared_preload_libraries = 'citus,augur'` (Citus must come first) and
/// `wal_level = logical` (shard moves replicate logically), Citus and Augur created in
/// the postgres database of each, the workers added to the coordinator.
public final class CitusCluster {
    public let coordinator: Cluster
    public let workers: [Cluster]
    public var nodes: [Cluster] { [coordinator] + workers }

    /// Whether Citus is installed in the server the tests run (extension/deps builds it).
    public static var isInstalled: Bool {
        FileManager.default.fileExists(atPath: "\(postgresLibraryDirectory)/citus.so")
    }

    /// - Parameter start: starts one node (a test case's `startCluster`, which stops and
    ///   removes it after the test).
    public init(workers count: Int, settings: [String: String] = [:],
                start: (Cluster.Options) throws -> Cluster) throws {
        let options = Cluster.Options(preload: ["citus", "augur"], settings: [
            "wal_level": "logical", "max_replication_slots": "16", "max_wal_senders": "16",
            "citus.shard_count": "8", "augur.naptime": "3600",
        ].merging(settings) { $1 })
        coordinator = try start(options)
        workers = try (0..<count).map { _ in try start(options) }
        for node in nodes {
            let db = try node.connect()
            try db.query("CREATE EXTENSION citus; CREATE EXTENSION augur")
        }
        let db = try coordinator.connect()
        try db.query("SELECT citus_set_coordinator_host('127.0.0.1', \(coordinator.port))")
        for worker in workers {
            try db.query("SELECT citus_add_node('127.0.0.1', \(worker.port))")
        }
    }
}
