import PGHarness
import XCTest

/// The SQL surface of 0.1.0 and the behaviour without the preload.
final class ExtensionTests: ClusterTestCase {
    func testVersionMatchesControlFileAndSettingsAreDescribed() throws {
        let cluster = try startCluster()
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        let defaultVersion = try db.scalar("SELECT default_version FROM pg_available_extensions WHERE name = 'augur'")
        XCTAssertEqual(try db.scalar("SELECT augur.version()"), defaultVersion)

        let settings = try db.query("SELECT name, description FROM augur.settings")
        XCTAssertEqual(settings.map { $0[0] }, ["augur.advise_interval", "augur.auto_apply", "augur.coaccess_half_life", "augur.database",
                                               "augur.dictionary_interval", "augur.enabled",
                                               "augur.histogram_bytes", "augur.histogram_retention", "augur.index_budget",
                                               "augur.maintenance_window",
                                               "augur.max_queries", "augur.max_sampled_xacts", "augur.naptime",
                                               "augur.rollback_threshold", "augur.sample_rate", "augur.sample_retention",
                                               "augur.track", "augur.verify_calls"])
        for row in settings { XCTAssertFalse((row[1] ?? "").isEmpty, "\(row[0] ?? "") has no description") }
        XCTAssertEqual(try db.scalar("SELECT context FROM augur.settings WHERE name = 'augur.max_queries'"), "postmaster")
    }

    func testWithoutPreloadCreateExtensionWorksAndSharedStateFailsWithHint() throws {
        let cluster = try startCluster(.init(preload: []))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        XCTAssertEqual(try db.scalar("SELECT augur.version()"),
                       try db.scalar("SELECT default_version FROM pg_available_extensions WHERE name = 'augur'"))
        let error = assertServerError("55000") { try db.query("SELECT * FROM augur.worker_status") }
        XCTAssertTrue(error?.hint?.contains("shared_preload_libraries") ?? false, "\(String(describing: error))")
    }

    func testMaintenanceWindowIsValidatedWithSQLStateAndDetail() throws {
        let cluster = try startCluster()
        let db = try cluster.connect()
        try db.query("ALTER SYSTEM SET augur.maintenance_window = 'Mon-Fri 01:00-03:00, Sat 23:00-05:00'")
        let error = assertServerError("22023") { try db.query("ALTER SYSTEM SET augur.maintenance_window = 'Sun 02:00-25:00'") }
        XCTAssertTrue(error?.detail?.contains("25:00") ?? false, "\(String(describing: error))")
        try db.query("SELECT pg_reload_conf()")
        XCTAssertTrue(try cluster.waitUntil(timeout: 10) {
            try db.scalar("SELECT setting FROM pg_settings WHERE name = 'augur.maintenance_window'")
                == "Mon-Fri 01:00-03:00, Sat 23:00-05:00"
        })
    }

    func testWorkerStatusIsHiddenFromUnprivilegedRoles() throws {
        let cluster = try startCluster()
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur; CREATE ROLE nobody LOGIN; CREATE ROLE watcher LOGIN IN ROLE pg_read_all_stats")
        let nobody = try Connection(conninfo: cluster.conninfo.replacingOccurrences(of: "user=postgres", with: "user=nobody"))
        assertServerError("42501") { try nobody.query("SELECT * FROM augur.worker_status") }
        let watcher = try Connection(conninfo: cluster.conninfo.replacingOccurrences(of: "user=postgres", with: "user=watcher"))
        XCTAssertEqual(try watcher.query("SELECT state FROM augur.worker_status").count, 1)
        XCTAssertEqual(try nobody.scalar("SELECT count(*) FROM augur.settings"), "18")
    }
}
