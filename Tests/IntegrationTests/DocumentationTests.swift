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

    /// Every function, table and view of the augur schema is named in docs/sql-reference.md,
    /// and every object an entry of it names (its first column) exists.
    func testTheSQLReferenceNamesEveryObjectAndOnlyThose() throws {
        let db = try augurCluster()
        let catalog = Set(try db.query("""
            SELECT proname FROM pg_proc WHERE pronamespace = 'augur'::regnamespace
            UNION SELECT relname FROM pg_class WHERE relnamespace = 'augur'::regnamespace AND relkind IN ('r', 'v', 'm')
            """).compactMap { $0[0] })
        XCTAssertGreaterThan(catalog.count, 40)
        let reference = try page("sql-reference.md")
        let named = { (text: Substring) -> Set<String> in
            Set(text.split(separator: "`").compactMap { code in
                guard code.hasPrefix("augur.") else { return nil }
                let name = code.dropFirst("augur.".count).prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                return name.isEmpty ? nil : String(name)
            })
        }
        let mentioned = named(Substring(reference))
        XCTAssertEqual(catalog.subtracting(mentioned), [], "objects the reference does not name")
        let entries = reference.split(separator: "\n").filter { $0.hasPrefix("| `augur.") }
            .flatMap { named($0.split(separator: "|").first ?? "") }
        XCTAssertEqual(Set(entries).subtracting(catalog), [], "entries naming no object")
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
