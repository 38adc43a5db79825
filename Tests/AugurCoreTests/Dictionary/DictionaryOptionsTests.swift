import AugurCore
import XCTest

final class DictionaryOptionsTests: XCTestCase {
    func testDefaultsAreCategoryEncoders() throws {
        let options = try DictionaryOptions(parsing: [:])
        XCTAssertEqual(options, DictionaryOptions())
        XCTAssertEqual([options.smoothing, options.minSamplesLeaf, options.regularization], [10, 20, 1])
        XCTAssertNil(options.name)
    }

    func testGivenOptionsAreReadAndCheckedWithAHint() throws {
        let options = try DictionaryOptions(parsing: ["name": "by_region", "smoothing": "2.5", "min_samples_leaf": "0"])
        XCTAssertEqual(options.name, "by_region")
        XCTAssertEqual(options.smoothing, 2.5)
        XCTAssertEqual(options.minSamplesLeaf, 0)
        let private_ = try DictionaryOptions(parsing: ["epsilon": "0.5", "epsilon_budget": "2", "target_bound": "100"])
        XCTAssertEqual([private_.epsilon, private_.epsilonBudget, private_.targetBound], [0.5, 2, 100])
        let bad: [[String: String?]] = [
            ["colour": "1"], ["smoothing": "0"], ["smoothing": "nan"], ["smoothing": "1e400"], ["regularization": "-1"],
            ["min_samples_leaf": "many"], ["name": "Upper"], ["name": "1st"], ["name": String(repeating: "a", count: 49)],
            ["name": nil], ["epsilon": "0"], ["epsilon_budget": "3"], ["epsilon": "1", "epsilon_budget": "0.5"],
            ["target_bound": "-1"],
        ]
        for options in bad {
            XCTAssertThrowsError(try DictionaryOptions(parsing: options), "\(options)") { error in
                XCTAssertFalse((error as? DictionaryOptions.ParseError)?.hint.isEmpty ?? true)
            }
        }
    }

    func testDefaultNamesAreValidNames() {
        XCTAssertEqual(DictionaryOptions.defaultName(relation: "Orders", column: "region"), "orders_region")
        XCTAssertEqual(DictionaryOptions.defaultName(relation: "sales 2024", column: "Région"), "sales_2024_r_gion")
        XCTAssertEqual(DictionaryOptions.defaultName(relation: "2024", column: "x"), "_2024_x")
        let long = DictionaryOptions.defaultName(relation: String(repeating: "t", count: 63), column: "c")
        XCTAssertEqual(long.utf8.count, DictionaryOptions.longestName)
        for name in ["orders_region", "sales_2024_r_gion", "_2024_x", long] {
            XCTAssertTrue(DictionaryOptions.isValidName(name), name)
        }
    }
}
