import PGHarness
import XCTest

/// `augur.detect` on a series given to it: the anomaly found where it is, and bad input
/// refused with the SQLSTATE that says why.
final class DetectTests: ClusterTestCase {
    func testASpikeInAGivenSeriesIsFoundAndBadInputIsRefused() throws {
        let db = try augurCluster()
        let series = """
            (SELECT array_agg(timestamptz '2026-01-01' + g * interval '1 minute' ORDER BY g) FROM generate_series(1, 600) g),
            (SELECT array_agg(50 + 10 * sin(g / 15.0) + (g * 7919 % 100) / 50.0 + CASE WHEN g = 450 THEN 80 ELSE 0 END
                              ORDER BY g) FROM generate_series(1, 600) g)
            """
        let alarms = try db.query("SELECT at, round(value) FROM augur.detect(\(series)) WHERE anomaly")
        XCTAssertEqual(alarms.count, 1, "\(alarms)")
        XCTAssertEqual(try db.scalar("SELECT at = timestamptz '2026-01-01' + interval '450 minutes' FROM augur.detect(\(series)) WHERE anomaly"), "t")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.detect(\(series))"), "600")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.detect('{}', '{}')"), "0", "an empty series, no rows")
        let cases: [(String, String)] = [
            ("22023", "SELECT * FROM augur.detect('{2026-01-01,2026-01-02}', '{1}')"),
            ("22004", "SELECT * FROM augur.detect(NULL, '{1}')"),
            ("22004", "SELECT * FROM augur.detect('{2026-01-01,NULL}', '{1,2}')"),
            ("22004", "SELECT * FROM augur.detect('{2026-01-01,2026-01-02}', '{1,NULL}')"),
            ("22023", "SELECT * FROM augur.detect('{2026-01-01,2026-01-02}', '{1,NaN}')"),
            ("22023", "SELECT * FROM augur.detect('{2026-01-01,2026-01-02}', '{1,Infinity}')"),
            ("22023", "SELECT * FROM augur.detect('{2026-01-02,2026-01-01}', '{1,2}')"),
            ("22023", "SELECT * FROM augur.detect('{2026-01-01,2026-01-01}', '{1,2}')"),
            ("22023", "SELECT * FROM augur.detect('{2026-01-01,2026-01-02}', '{1,2}', 'magic')"),
            ("22023", "SELECT * FROM augur.detect('{{2026-01-01},{2026-01-02}}', '{{1},{2}}')"),
        ]
        for (sqlstate, sql) in cases {
            assertServerError(sqlstate, sql) { try db.query(sql) }
        }
    }
}
