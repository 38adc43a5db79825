import Foundation
import PGHarness
import XCTest

/// The documentation tells the truth: the reference pages list what exists on the server
/// and only that, and the README leads to every page.
final class DocumentationTests: ClusterTestCase {
    private func page(_ name: String) throws -> String {
        try SourceTree.text("docs/" + name)
    }

    /// The README's documentation table lists every page of docs/, and every page it
    /// names exists, so a newcomer finds each page from the README.
    func testTheReadmeListsEveryDocumentationPage() throws {
        let readme = try SourceTree.text("README.md")
        let listed = Set(readme.split(separator: "\n").filter { $0.hasPrefix("| `docs/") }
            .compactMap { $0.split(separator: "`").dropFirst().first.map(String.init) })
        let pages = Set(try FileManager.default.contentsOfDirectory(atPath: SourceTree.root.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.map { "docs/" + $0 })
        XCTAssertGreaterThan(pages.count, 5)
        XCTAssertEqual(listed, pages, "README's documentation table vs docs/")
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
