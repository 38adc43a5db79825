import AugurCore
import CShim

/// This database's OID, in SQL: Augur's tables hold rows of every database.
let currentDatabaseOID = "(SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())"

/// One result row, decoded into Swift values by column type.
struct SPIRow {
    let columns: [String]
    let values: [SQLValue]

    /// The value of the named column; nil if there is no such column.
    subscript(_ name: String) -> SQLValue? {
        columns.firstIndex(of: name).map { values[$0] }
    }
}

/// A role's OID: the role a captured statement is replayed as.
struct RoleOID: Hashable {
    let value: UInt32

    /// nil for NULL, zero or a value out of range: nothing is replayed without a role.
    init?(_ value: SQLValue?) {
        guard let oid = value?.int, let value = UInt32(exactly: oid), value != 0 else { return nil }
        self.value = value
    }
}

struct SPIResult {
    /// Rows returned or affected.
    let processed: UInt64
    let rows: [SPIRow]
}

/// Runs SQL inside the current transaction through the shim's guarded SPI call. A server
/// ERROR comes back as a thrown PGError, with the statement's effects rolled back.
enum SPI {
    /// - Parameter arguments: $1...$n as text, nil for NULL; cast in the SQL as needed.
    /// - Parameter rollingBack: undo what the statement did once its result is copied
    ///   (a replay that must leave no trace, whatever the statement calls).
    /// - Parameter role: run it as this role (a captured statement, as the role that sent
    ///   it), in a security-restricted operation: never with the caller's rights.
    @discardableResult
    static func execute(_ sql: String, _ arguments: [String?] = [],
                        readOnly: Bool = false, rollingBack: Bool = false, as role: RoleOID? = nil) throws -> SPIResult {
        var result = augur_spi_result()
        var error = augur_error()
        let ok = withCStrings(arguments) { args in
            augur_spi_execute(sql, Int32(clamping: args.count), args, readOnly, rollingBack, role?.value ?? 0, &result, &error)
        }
        guard ok else { throw PGError(copying: error) }
        defer { augur_spi_result_free(&result) }
        return SPIResult(processed: result.processed, rows: decodeRows(result))
    }

    static func query(_ sql: String, _ arguments: [String?] = []) throws -> [SPIRow] {
        try execute(sql, arguments, readOnly: true).rows
    }

    /// Tells the caller of a long operation where it is: "augur: " and `message`, as a
    /// NOTICE (client_min_messages decides who sees it).
    static func progress(_ message: String) throws {
        try execute("SELECT augur.progress($1)", ["augur: " + message])
    }

    private static func decodeRows(_ result: augur_spi_result) -> [SPIRow] {
        let columnCount = Int(result.ncols)
        guard result.nrows > 0, columnCount > 0, let cells = result.values,
              let names = result.colnames, let types = result.coltypes else { return [] }
        let columns = (0..<columnCount).map { String(optionalCString: names[$0]) ?? "" }
        return (0..<Int(clamping: result.nrows)).map { row in
            SPIRow(columns: columns, values: (0..<columnCount).map { column in
                SQLValue(textForm: String(optionalCString: cells[row * columnCount + column]),
                         typeOID: types[column])
            })
        }
    }
}

/// Calls body with C strings for `strings` (nil stays NULL), valid only during the call.
/// They are laid out NUL-terminated in one Swift array, so nothing is allocated in C.
private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var storage: [CChar] = []
    var offsets: [Int?] = []
    for string in strings {
        guard let string else {
            offsets.append(nil)
            continue
        }
        offsets.append(storage.count)
        storage.append(contentsOf: string.utf8.map { CChar(bitPattern: $0) })
        storage.append(0)
    }
    return storage.withUnsafeBufferPointer { buffer in
        body(offsets.map { offset in
            offset.flatMap { offset in buffer.baseAddress.map { $0 + offset } }
        })
    }
}
