import Foundation
import PGHarness
import XCTest

/// The lineage case suite: Tests/lineage-cases/cases.sql, each case's statements and
/// the exact column lineage they must produce, written by hand.
final class LineageCaseTests: ClusterTestCase {
    struct Case {
        var name: String
        var sql: String
        var expected: [String]
    }


    /// Cases start at "-- case: name"; "-- expect: edge" lines give the edges; other
    /// comment lines are ignored; the rest is SQL.
    static func cases() throws -> [Case] {
        let text = try SourceTree.text("Tests/lineage-cases/cases.sql")
        var cases: [Case] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("-- case: ") {
                cases.append(Case(name: String(line.dropFirst("-- case: ".count)), sql: "", expected: []))
            } else if line.hasPrefix("-- expect: ") {
                cases[cases.count - 1].expected.append(String(line.dropFirst("-- expect: ".count)))
            } else if !line.hasPrefix("--"), !cases.isEmpty {
                cases[cases.count - 1].sql += line + "\n"
            }
        }
        return cases
    }

    func testEveryCaseProducesExactlyItsExpectedLineage() throws {
        let cases = try Self.cases()
        XCTAssertGreaterThanOrEqual(cases.count, 60)
        let cluster = try startCluster(.init(settings: ["augur.naptime": "3600"]))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        try db.query(SourceTree.text("Tests/lineage-cases/schema.sql"))
        for item in cases {
            try db.query("SELECT augur.flush(); DELETE FROM augur.lineage_edge")
            try db.query(item.sql)
            try db.query("SELECT augur.flush()")
            let edges = try db.query("""
                SELECT replace(target_column, 'public.', '') || ' <- ' || replace(source_column, 'public.', '')
                       || ' ' || subtype
                  FROM augur.lineage_edge
                """).map { $0[0] ?? "NULL" }
            XCTAssertEqual(edges.sorted(), item.expected.sorted(), item.name)
        }
    }
}
