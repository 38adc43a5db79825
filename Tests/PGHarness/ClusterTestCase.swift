import XCTest

/// Base class for tests against real servers: clusters started through `startCluster`
/// are stopped and removed after the test, and the test fails if a server log shows a
/// crash the test did not provoke on purpose.
open class ClusterTestCase: XCTestCase {
    private var clusters: [Cluster] = []

    public func startCluster(_ options: Cluster.Options = Cluster.Options()) throws -> Cluster {
        let cluster = try Cluster(options)
        clusters.append(cluster)
        return cluster
    }

    open override func tearDown() {
        for cluster in clusters {
            cluster.stop()
            let crashes = cluster.crashLines
            if !crashes.isEmpty && !cluster.crashIsExpected {
                XCTFail("server log shows a crash:\n" + crashes.joined(separator: "\n"))
                print("server log kept at \(cluster.logPath)")
            } else {
                cluster.remove()
            }
        }
        clusters = []
        super.tearDown()
    }
}
