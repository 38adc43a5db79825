import Foundation
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

    /// A Citus cluster (see `CitusCluster`) whose nodes are stopped and removed after the
    /// test. Without Citus installed the test fails, unless AUGUR_SKIP_CITUS=1 says to skip
    /// it (a machine that cannot build Citus): CI never skips it silently.
    public func startCitusCluster(workers: Int, settings: [String: String] = [:]) throws -> CitusCluster {
        if !CitusCluster.isInstalled {
            try XCTSkipIf(ProcessInfo.processInfo.environment["AUGUR_SKIP_CITUS"] == "1", "AUGUR_SKIP_CITUS=1 and no Citus")
            throw CommandFailure(command: ["citus"], status: 1,
                                 output: "Citus is not installed in \(postgresLibraryDirectory): run extension/deps, "
                                     + "or set AUGUR_SKIP_CITUS=1 to skip the tests that need it")
        }
        return try CitusCluster(workers: workers, settings: settings) { try startCluster($0) }
    }

    /// A cluster with Augur created and its worker asleep (`augur.naptime` 3600 unless
    /// `settings` says otherwise), so the test's own `augur.flush()` calls are the only
    /// flushes; then `setup` (SQL) is run. Returns a connection to its postgres database.
    public func augurCluster(_ settings: [String: String] = [:], setup: String = "") throws -> Connection {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "3600"].merging(settings) { $1 }))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        if !setup.isEmpty { try db.query(setup) }
        return db
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

/// Asserts that `body` fails with a server error of SQLSTATE `sqlstate`, and returns that
/// error for further checks (nil when the assertion failed).
@discardableResult
public func assertServerError<T>(_ sqlstate: String, _ message: @autoclosure () -> String = "",
                                 file: StaticString = #filePath, line: UInt = #line,
                                 _ body: () throws -> T) -> ServerError? {
    do {
        _ = try body()
        XCTFail("expected SQLSTATE \(sqlstate), but it succeeded. \(message())", file: file, line: line)
    } catch let error as ServerError {
        XCTAssertEqual(error.sqlstate, sqlstate, "\(error) \(message())", file: file, line: line)
        return error
    } catch {
        XCTFail("expected SQLSTATE \(sqlstate), got \(error). \(message())", file: file, line: line)
    }
    return nil
}
