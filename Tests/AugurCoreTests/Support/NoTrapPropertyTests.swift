import AugurCore
import XCTest

/// Code that runs inside a server process must never trap. These feed the core's entry
/// points seeded random input (a trap would kill the test process) and check invariants.
final class NoTrapPropertyTests: XCTestCase {
    private let alphabet = Array("SunMonFriSatdaily0123456789:-, \t+éZ".unicodeScalars)

    func testMaintenanceWindowParsesOrRejectsAnything() {
        var random = SplitMix64(state: 20261128)
        for _ in 0..<20_000 {
            var text = ""
            for _ in 0..<random.below(24) { text.unicodeScalars.append(alphabet[random.below(alphabet.count)]) }
            if let window = try? MaintenanceWindow(parsing: text) {
                for span in window.spans {
                    XCTAssertTrue((0..<1440).contains(span.start), text)
                    XCTAssertTrue((1...1440).contains(span.end), text)
                    XCTAssertNotEqual(span.start, span.end, text)
                }
                _ = window.contains(weekday: random.below(7), minuteOfDay: random.below(1440))
            }
        }
    }

    func testNormalizerKeepsEverythingOutsideConstants() {
        var random = SplitMix64(state: 42)
        for _ in 0..<20_000 {
            let statement = (0..<random.below(64)).map { _ in UInt8(truncatingIfNeeded: random.below(256)) }
            let constants = (0..<random.below(6)).map { _ in
                QueryNormalizer.Constant(location: random.below(80) - 8, length: random.below(12) - 2)
            }
            let text = QueryNormalizer.normalize(statement: statement, constants: constants,
                                                 firstParameter: random.below(5) - 1)
            // Never longer than the statement plus the "$n" markers it added.
            XCTAssertLessThanOrEqual(text.utf8.count, statement.count * 3 + constants.count * 4 + 4)
        }
    }

    func testSQLValueDecodesAnyTextForm() {
        var random = SplitMix64(state: 7)
        for _ in 0..<20_000 {
            let text = String(decoding: (0..<random.below(24)).map { _ in UInt8(truncatingIfNeeded: random.below(128)) },
                              as: UTF8.self)
            let value = SQLValue(textForm: text, typeOID: [16, 20, 21, 23, 25, 26, 700, 701, 1700][random.below(9)])
            XCTAssertNotEqual(value, .null)
            _ = value.description
        }
    }
}
