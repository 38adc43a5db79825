import PGHarness
import XCTest

/// Every release is reachable from 0.1.0 through the upgrade scripts, with the worker
/// running, and ends up with exactly the objects a fresh install has.
final class UpgradeTests: ClusterTestCase {
    private let members = """
        SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
         WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
           AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'augur')
         ORDER BY 1
        """

    func testUpgradeFromFirstReleaseMatchesFreshInstall() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "1"]))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur VERSION '0.1.0'")
        XCTAssertTrue(try cluster.waitUntil { try db.scalar("SELECT state FROM augur.worker_status") == "version mismatch" })

        try db.query("ALTER EXTENSION augur UPDATE")
        let latest = try db.scalar("SELECT default_version FROM pg_available_extensions WHERE name = 'augur'")
        XCTAssertEqual(try db.scalar("SELECT extversion FROM pg_extension WHERE extname = 'augur'"), latest)
        XCTAssertTrue(try cluster.waitUntil { try db.scalar("SELECT state FROM augur.worker_status") == "running" })

        try db.query("CREATE DATABASE fresh")
        let fresh = try cluster.connect(database: "fresh")
        try fresh.query("CREATE EXTENSION augur")
        XCTAssertEqual(try db.query(members), try fresh.query(members))
        XCTAssertGreaterThan(try db.query(members).count, 5)
    }
}
