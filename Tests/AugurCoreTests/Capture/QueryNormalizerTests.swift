import AugurCore
import XCTest

final class QueryNormalizerTests: XCTestCase {
    private func normalize(_ sql: String, _ constants: [(Int, Int)], first: Int = 1) -> String {
        QueryNormalizer.normalize(statement: Array(sql.utf8),
                                  constants: constants.map { QueryNormalizer.Constant(location: $0.0, length: $0.1) },
                                  firstParameter: first)
    }

    func testReplacesConstantsInOrder() {
        let sql = "SELECT * FROM t WHERE a = 42 AND b = 'x''y' AND c = -1.5"
        XCTAssertEqual(normalize(sql, [(52, 4), (26, 2), (37, 6)]),
                       "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3")
    }

    func testNumbersAfterTheStatementsOwnParameters() {
        XCTAssertEqual(normalize("SELECT $1 + 7", [(12, 1)], first: 2), "SELECT $1 + $2")
    }

    func testToleratesBadPositionsAndTrims() {
        let sql = "  SELECT 1, 2  \n"
        XCTAssertEqual(normalize(sql, [(9, 1), (9, 1), (12, -1), (100, 3), (-4, 2), (14, 9)]), "SELECT $1, 2")
        XCTAssertEqual(normalize("", [(0, 1)]), "")
    }

    func testMultibyteTextAroundConstants() {
        let sql = "SELECT 'ünï' AS café"
        XCTAssertEqual(normalize(sql, [(7, Array("'ünï'".utf8).count)]), "SELECT $1 AS café")
    }
}

final class PostgresArrayTests: XCTestCase {
    func testQuotesEscapesAndNulls() {
        XCTAssertEqual(PostgresArray.literal([]), "{}")
        XCTAssertEqual(PostgresArray.literal(["1", nil, "a \"b\" \\c", "{,}", "NULL", ""]),
                       #"{"1",NULL,"a \"b\" \\c","{,}","NULL",""}"#)
    }

    func testElementsReadBackWhatLiteralWrote() {
        let values: [String?] = ["new", "b c", nil, "x\"y\\z", "", "NULL", "{a,b}", "naïve 東京 \"ü\""]
        XCTAssertEqual(PostgresArray.elements(PostgresArray.literal(values)), values)
        XCTAssertEqual(PostgresArray.elements("{new,2,NULL}"), ["new", "2", nil])
        XCTAssertEqual(PostgresArray.elements("{}"), [])
        XCTAssertEqual(PostgresArray.elements("nonsense"), [])
    }
}
