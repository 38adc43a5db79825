import AugurCore
import XCTest

final class SQLValueTests: XCTestCase {
    func testDecodesByType() {
        XCTAssertEqual(SQLValue(textForm: nil, typeOID: 23), .null)
        XCTAssertEqual(SQLValue(textForm: "t", typeOID: 16), .bool(true))
        XCTAssertEqual(SQLValue(textForm: "f", typeOID: 16), .bool(false))
        XCTAssertEqual(SQLValue(textForm: "-9223372036854775808", typeOID: 20), .int(Int64.min))
        XCTAssertEqual(SQLValue(textForm: "42", typeOID: 21), .int(42))
        XCTAssertEqual(SQLValue(textForm: "1.5", typeOID: 701), .double(1.5))
        XCTAssertEqual(SQLValue(textForm: "12345678901234567890.5", typeOID: 1700), .text("12345678901234567890.5"))
        XCTAssertEqual(SQLValue(textForm: "abc", typeOID: 25), .text("abc"))
    }

    func testUnparsableTextFormStaysText() {
        XCTAssertEqual(SQLValue(textForm: "99999999999999999999", typeOID: 20), .text("99999999999999999999"))
        XCTAssertEqual(SQLValue(textForm: "maybe", typeOID: 16), .text("maybe"))
    }

    func testRendering() {
        XCTAssertEqual([SQLValue.null, .bool(true), .int(-3), .double(0.25), .text("it's")].map(\.description),
                       ["NULL", "true", "-3", "0.25", "'it''s'"])
    }
}

final class ColumnRolesTests: XCTestCase {
    func testNamesInByteOrder() {
        XCTAssertEqual(ColumnRoles([.ordered, .filterEquality, .projected]).names,
                       ["filter_equality", "ordered", "projected"])
        let all = ColumnRoles(rawValue: 0x7FF).names
        XCTAssertEqual(all, all.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        XCTAssertEqual(ColumnRoles(rawValue: 1 << 15).names, [])
        XCTAssertEqual(ColumnRoles(rawValue: 0x7FF).names.count, 11)
    }
}
