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
