import AugurCore
import XCTest

final class IndexDropAdviceTests: XCTestCase {
    private func index(_ name: String, _ keys: [String], table: String = "public.t", method: String = "btree",
                       extras: String = "", predicate: String? = nil, protected: Bool = false,
                       scans: Int64 = 5) -> IndexDropAdvice.Index {
        .init(name: name, table: table, method: method, keys: keys, extras: extras, predicate: predicate,
              isProtected: protected, bytes: 8192, scans: scans, definition: "CREATE INDEX \(name) ...")
    }

    private func advice(_ indexes: [IndexDropAdvice.Index], age: Double = 30 * 86_400) -> [String] {
        IndexDropAdvice.advise(indexes, statisticsAge: age, unusedAfter: 7 * 86_400)
            .map { "\($0.index.name) \($0.reason.kind) \($0.reason.sentence)" }
    }

    func testDuplicatesKeepTheProtectedOrTheMoreUsedOne() {
        XCTAssertEqual(advice([index("a_pkey", ["1:1978:0:0"], protected: true), index("a_id", ["1:1978:0:0"])]),
                       ["a_id duplicate duplicates a_pkey: same table, columns, method and predicate"])
        XCTAssertEqual(advice([index("x", ["2:1978:0:0"], scans: 9), index("y", ["2:1978:0:0"], scans: 1)]).first,
                       "y duplicate duplicates x: same table, columns, method and predicate")
        // Another opclass, a predicate, another table or method: not duplicates.
        XCTAssertEqual(advice([index("x", ["2:1978:0:0"]), index("y", ["2:3128:0:0"])]), [])
        XCTAssertEqual(advice([index("x", ["2:1978:0:0"]), index("y", ["2:1978:0:0"], predicate: "(b > 0)")]), [])
        XCTAssertEqual(advice([index("x", ["2:1978:0:0"]), index("y", ["2:1978:0:0"], table: "public.u")]), [])
        XCTAssertEqual(advice([index("x", ["2:1978:0:0"]), index("y", ["2:1978:0:0"], method: "hash")]), [])
    }

    func testLeadingColumnsOfAnotherBtreeAreRedundant() {
        XCTAssertEqual(advice([index("ab", ["1:1978:0:0", "2:1978:0:0"]), index("a", ["1:1978:0:0"])]),
                       ["a redundant_prefix its columns lead ab, which serves the same lookups"])
        // Not a prefix (second column), a unique index, or one with INCLUDE: kept.
        XCTAssertEqual(advice([index("ab", ["1:1978:0:0", "2:1978:0:0"]), index("b", ["2:1978:0:0"])]), [])
        XCTAssertEqual(advice([index("ab", ["1:1978:0:0", "2:1978:0:0"]), index("a", ["1:1978:0:0"], protected: true)]), [])
        XCTAssertEqual(advice([index("ab", ["1:1978:0:0", "2:1978:0:0"]), index("a", ["1:1978:0:0"], extras: "INCLUDE 3")]), [])
    }

    func testUnusedOnlyWhenStatisticsAreOldEnoughAndNeverProtected() {
        let indexes = [index("idle", ["3:1978:0:0"], scans: 0), index("t_pkey", ["1:1978:0:0"], protected: true, scans: 0)]
        XCTAssertEqual(advice(indexes), ["idle unused not scanned once in the 30 days statistics cover"])
        XCTAssertEqual(advice(indexes, age: 86_400), [])
    }

    func testAnIndexIsProposedOnceWithItsStrongestReason() {
        let indexes = [index("x", ["1:1978:0:0"], scans: 0), index("y", ["1:1978:0:0"], scans: 0),
                       index("xy", ["1:1978:0:0", "2:1978:0:0"], scans: 0)]
        let names = IndexDropAdvice.advise(indexes, statisticsAge: 30 * 86_400, unusedAfter: 0).map(\.index.name)
        XCTAssertEqual(names.sorted(), Set(names).sorted())
        XCTAssertEqual(IndexDropAdvice.advise(indexes, statisticsAge: 30 * 86_400, unusedAfter: 0).first?.reason.kind, "duplicate")
    }
}
