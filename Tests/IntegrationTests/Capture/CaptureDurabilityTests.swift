import PGHarness
import XCTest

/// What a flush drains from shared memory belongs to its transaction: a flush (or a
/// reset, which flushes) that rolls back, or fails inside a larger statement or a
/// savepoint, puts everything back, and a clean restart flushes before the worker exits.
final class CaptureDurabilityTests: ClusterTestCase {
    private var cluster: Cluster!

    /// 21 calls of one query (with its latencies and shape), 3 errors and one sampled
    /// transaction (the 21st call), captured and not flushed yet.
    private func capturedButNotFlushed(_ settings: [String: String] = [:]) throws -> Connection {
        // No transaction sampled by chance: only the one the test samples on purpose.
        cluster = try startCluster(.init(settings: ["augur.naptime": "3600", "augur.sample_rate": "0"].merging(settings) { $1 }))
        let db = try cluster.connect()
        try db.query("""
            CREATE EXTENSION augur;
            CREATE TABLE items (id int PRIMARY KEY, label text);
            INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g;
            SELECT augur.reset();
            """)
        try db.query((1...20).map { "SELECT label FROM items WHERE id = \($0);" }.joined(separator: "\n"))
        for _ in 0..<3 { assertServerError("22012") { try db.query("SELECT id / 0 FROM items") } }
        try db.query("SET augur.sample_rate = 1; BEGIN; SELECT label FROM items WHERE id = 7; COMMIT; RESET augur.sample_rate")
        return db
    }

    /// After a normal flush: the query's calls and histogram count, its relations, the
    /// errors, the sampled transactions.
    private func flushedFigures(_ db: Connection) throws -> [String?] {
        try db.query("SELECT augur.flush()")
        return try XCTUnwrap(try db.query("""
            WITH q AS (SELECT queryid FROM augur.query WHERE query = 'SELECT label FROM items WHERE id = $1')
            SELECT (SELECT sum(calls) FROM augur.query WHERE queryid IN (SELECT queryid FROM q)),
                   (SELECT sum(count) FROM augur.histogram WHERE queryid IN (SELECT queryid FROM q)),
                   (SELECT count(*) FROM augur.relation_use WHERE queryid IN (SELECT queryid FROM q)),
                   (SELECT sum(count) FROM augur.errors WHERE sqlstate = '22012'),
                   (SELECT count(*) FROM augur.sampled_xact)
            """).first)
    }

    private let everything: [String?] = ["21", "21", "1", "3", "1"]

    /// Runs `sql` over what was captured, then a normal flush, which must find everything.
    private func assertEverythingFlushed(after sql: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let db = try capturedButNotFlushed()
        try db.query(sql)
        XCTAssertEqual(try flushedFigures(db), everything, sql, file: file, line: line)
    }

    func testARolledBackFlushPutsEverythingBack() throws {
        try assertEverythingFlushed(after: "BEGIN; SELECT augur.flush(); ROLLBACK")
    }

    func testARolledBackResetPutsEverythingBack() throws {
        try assertEverythingFlushed(after: "BEGIN; SELECT augur.reset(); ROLLBACK")
    }

    func testAFlushInARolledBackSavepointPutsEverythingBack() throws {
        try assertEverythingFlushed(after: "BEGIN; SAVEPOINT s; SELECT augur.flush(); ROLLBACK TO SAVEPOINT s; COMMIT")
    }

    /// A released savepoint keeps the flush: committed once, counted once.
    func testAFlushInAReleasedSavepointIsKeptOnce() throws {
        try assertEverythingFlushed(after: "BEGIN; SAVEPOINT s; SELECT augur.flush(); RELEASE SAVEPOINT s; COMMIT")
    }

    func testAFlushInsideAFailingStatementPutsEverythingBack() throws {
        let db = try capturedButNotFlushed()
        assertServerError("22012") { try db.query("SELECT augur.flush() / 0") }   // fails after the flush
        // (The failed statement is a fourth 22012.)
        XCTAssertEqual(try flushedFigures(db), ["21", "21", "1", "4", "1"])
    }

    /// Two roles sending a new query in one flush window hand over its shape twice: the
    /// flush stores it once and both roles' counts.
    func testTwoRolesSendingANewQueryInOneWindowFlushFine() throws {
        let db = try capturedButNotFlushed()
        try db.query("CREATE ROLE reader LOGIN; GRANT SELECT ON items TO reader; SELECT augur.flush()")
        let reader = try cluster.connect(user: "reader")
        try db.query("SELECT count(*) FROM items WHERE label LIKE 'item 1%'")
        try reader.query("SELECT count(*) FROM items WHERE label LIKE 'item 2%'")
        try db.query("SELECT augur.flush()")
        XCTAssertEqual(try db.query("""
            SELECT count(*), sum(calls), (SELECT count(*) FROM augur.column_use c WHERE c.queryid = min(q.queryid))
              FROM augur.query q WHERE query = 'SELECT count(*) FROM items WHERE label LIKE $1'
            """), [["2", "2", "1"]])
    }

    func testACleanRestartLosesNothing() throws {
        let db = try capturedButNotFlushed()
        try cluster.restart()
        let after = try cluster.connect()
        XCTAssertEqual(try after.query("""
            SELECT (SELECT sum(calls) FROM augur.query WHERE query = 'SELECT label FROM items WHERE id = $1'),
                   (SELECT sum(count) FROM augur.errors WHERE sqlstate = '22012'),
                   (SELECT count(*) FROM augur.sampled_xact)
            """).first, ["21", "3", "1"],
            "the worker flushes at shutdown: \(cluster.serverLog.split(separator: "\n").filter { $0.contains("augur") }.suffix(8))")
        _ = db
    }
}
