/// EXPLAIN of one example execution: a parameterized text is prepared, explained with
/// its arguments and deallocated (a cached plan would outlive what it was planned for).
/// Planning runs the statement's IMMUTABLE functions (constant folding) and ANALYZE runs
/// all of them, so EXPLAIN runs as the role that sent the statement, never as the caller.
/// (PREPARE, which a security-restricted operation forbids, only parses: it runs nothing.)
enum ExampleExplain {
    private static let statementName = "augur_whatif"

    /// The first column of EXPLAIN's first row (the JSON or the first line of text).
    /// With `rollingBack`, what running it did (EXPLAIN ANALYZE runs it) is undone.
    static func explain(_ text: String, arguments: String?, as role: RoleOID, options: String,
                        rollingBack: Bool = false) throws -> String? {
        guard let arguments else {
            return try SPI.execute("EXPLAIN (\(options)) \(text)", rollingBack: rollingBack, as: role)
                .rows.first?.values.first?.text
        }
        try SPI.execute("PREPARE \(statementName) AS \(text)")
        defer { _ = try? SPI.execute("DEALLOCATE \(statementName)") }
        return try SPI.execute("EXPLAIN (\(options)) EXECUTE \(statementName)\(arguments)", rollingBack: rollingBack, as: role)
            .rows.first?.values.first?.text
    }

    /// Leaves no prepared statement behind, also after an error.
    static func deallocate() {
        _ = try? SPI.execute("DEALLOCATE \(statementName)")
    }
}

/// Example texts prepared once and explained many times, as the index advice plans each
/// example under many what-if configurations: one EXPLAIN per costing instead of PREPARE,
/// EXPLAIN and DEALLOCATE. Only for custom plans (`plan_cache_mode = force_custom_plan`):
/// each EXECUTE is planned anew with the hypothetical indexes of the moment, where a
/// cached generic plan would keep the ones it was first planned with.
struct PreparedExamples {
    private var names: [String: String] = [:]

    /// EXPLAIN's first column for `text` executed with `arguments` ("(1, 'a')"), as `role`.
    mutating func explain(_ text: String, arguments: String, as role: RoleOID, options: String) throws -> String? {
        let name: String
        if let known = names[text] {
            name = known
        } else {
            name = "augur_whatif_\(names.count + 1)"
            try SPI.execute("PREPARE \(name) AS \(text)")
            names[text] = name
        }
        return try SPI.execute("EXPLAIN (\(options)) EXECUTE \(name)\(arguments)", as: role).rows.first?.values.first?.text
    }

    /// Leaves no prepared statement behind, also after an error.
    mutating func deallocate() {
        for name in names.values { _ = try? SPI.execute("DEALLOCATE \(name)") }
        names = [:]
    }
}
