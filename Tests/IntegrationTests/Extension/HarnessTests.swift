import PGHarness
import XCTest

/// The harness itself: several clusters at once (the sharding work needs 3-4), pgbench,
/// the server log.
final class HarnessTests: ClusterTestCase {
    func testSeveralClustersRunSideBySide() throws {
        let clusters = try (0..<3).map { _ in try startCluster() }
        XCTAssertEqual(Set(clusters.map(\.port)).count, 3)
        for (index, cluster) in clusters.enumerated() {
            let db = try cluster.connect()
            try db.query("CREATE TABLE marker AS SELECT \(index) AS id")
        }
        for (index, cluster) in clusters.enumerated() {
            XCTAssertEqual(try cluster.connect().scalar("SELECT id FROM marker"), String(index))
            XCTAssertEqual(try cluster.connect().scalar("SHOW shared_preload_libraries"), "augur")
        }
    }

    func testPgbenchAndServerLog() throws {
        let cluster = try startCluster(.init(preload: ["augur", "pg_stat_statements"]))
        try cluster.pgbench(["-i", "-s", "1", "-q"])
        let output = try cluster.pgbench(["-S", "-n", "-t", "200", "-c", "2"])
        XCTAssertTrue(output.contains("number of transactions actually processed: 400/400"), output)
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION pg_stat_statements")
        XCTAssertEqual(try db.scalar("SHOW shared_preload_libraries"), "augur,pg_stat_statements")
        _ = try? db.query("SELECT harness_marker_that_fails()")
        XCTAssertTrue(cluster.serverLog.contains("function harness_marker_that_fails() does not exist"))
        XCTAssertEqual(cluster.crashLines, [])
    }
}
