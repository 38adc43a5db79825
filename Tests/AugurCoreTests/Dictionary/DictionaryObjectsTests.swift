import AugurCore
import XCTest

final class DictionaryObjectsTests: XCTestCase {
    private func objects(target: DictionaryObjects.Target?) -> DictionaryObjects {
        DictionaryObjects(id: 7, name: "orders_region", relid: 16_400, relation: "public.\"Orders\"",
                          column: "\"Region\"", target: target, options: DictionaryOptions())
    }

    func testTheEncodingsFollowTheTarget() {
        XCTAssertEqual(objects(target: nil).encodedColumns.map(\.name), ["frequency"])
        XCTAssertEqual(objects(target: .init(column: "amount", kind: .numeric)).encodedColumns.map(\.name),
                       ["frequency", "target_mean"])
        let binary = objects(target: .init(column: "returned", kind: .binary))
        XCTAssertEqual(binary.encodedColumns.map(\.name), ["frequency", "target_mean", "woe"])
        XCTAssertEqual(binary.addedFields, ["code", "frequency", "target_mean", "woe"])
        XCTAssertTrue(binary.encodingsViewSQL.contains("e.target_sum::bigint AS positives"))
        // The logistic weight never reaches exp() with an argument that under- or overflows.
        XCTAssertTrue(binary.encodingsViewSQL.contains("> 700 THEN 1"))
    }

    func testTheCaptureNotesEachKindOfWriteAndOnlyForItsTable() {
        let capture = objects(target: .init(column: "returned", kind: .binary)).captureFunctionSQL
        XCTAssertTrue(capture.contains("IF TG_RELID <> 16400::oid THEN"))
        XCTAssertTrue(capture.contains("SECURITY DEFINER SET search_path = pg_catalog, pg_temp"))
        XCTAssertTrue(capture.contains("pg_catalog.format('%s', \"Region\") END AS value, -1 AS rows"), "deleted rows count −1")
        XCTAssertFalse(capture.contains("\"Region\"::text"), "no cast a role could have made")
        XCTAssertTrue(capture.contains("returned::int::float8"))
        XCTAssertTrue(capture.contains("EXCEPTION WHEN OTHERS THEN"), "a write never fails because of its dictionary")
        let triggers = objects(target: nil).triggersSQL
        XCTAssertEqual(triggers.count, 4)
        XCTAssertTrue(triggers.allSatisfy { $0.contains("ON public.\"Orders\"") && $0.hasSuffix("augur_dict.\"capture_orders_region\"()") })
    }

    func testABoundedTargetIsClippedWhereverItIsCounted() {
        var options = DictionaryOptions()
        options.targetBound = 100
        let objects = DictionaryObjects(id: 1, name: "d", relid: 1, relation: "t", column: "c",
                                        target: .init(column: "x", kind: .numeric), options: options)
        XCTAssertTrue(objects.captureFunctionSQL.contains("least(greatest(x::float8, -100.0::float8), 100.0::float8)"))
        XCTAssertTrue(objects.encodingsViewSQL.contains("FROM augur.dictionary_published e"))
    }

    func testTheRowsViewJoinsNullApart() {
        let sql = objects(target: nil).rowsViewSQL(addedColumns: ["\"Region_code\"", "\"Region_frequency\""])
        XCTAssertTrue(sql.contains("LEFT JOIN augur_dict.\"orders_region\" e ON e.value = CASE WHEN t.\"Region\" IS NULL"))
        XCTAssertTrue(sql.contains("coalesce(e.code, CASE WHEN t.\"Region\" IS NULL THEN n.code END) AS \"Region_code\""))
    }
}
