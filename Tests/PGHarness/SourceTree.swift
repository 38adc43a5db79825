import Foundation

/// The repository the tests were built from, for tests that read its files (the docs, the
/// lineage cases): this file is Tests/PGHarness/SourceTree.swift.
public enum SourceTree {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }
}
