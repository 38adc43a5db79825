import Foundation
import PGHarness
import XCTest

/// The reference pages tell the truth about the server: what they list exists, and what
/// exists is listed.
final class DocumentationTests: ClusterTestCase {
    /// A page of docs/, read from the source tree.
    private func page(_ name: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("docs").appendingPathComponent(name), encoding: .utf8)
    }

    /// Every `augur.*` setting has one row in docs/configuration.md, with its context.
    func testEverySettingHasItsRowInTheConfigurationPage() throws {
        let db = try augurCluster()
        let server = Dictionary(uniqueKeysWithValues: try db.query("SELECT name, context FROM pg_settings WHERE name LIKE 'augur.%'")
            .map { ($0[0] ?? "", $0[1] ?? "") })
        var documented: [String: String] = [:]
        for line in try page("configuration.md").split(separator: "\n") where line.hasPrefix("| `augur.") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            let name = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            XCTAssertNil(documented[name], "\(name) has two rows")
            documented[name] = cells[2]
        }
        XCTAssertEqual(Set(documented.keys), Set(server.keys), "documented vs the server's settings")
        for (name, context) in server {
            XCTAssertEqual(documented[name], context, "the context of \(name)")
        }
    }
}
