import AugurCore
import CShim

/// A parameter of an SPI statement. Values cross to C in text form with their type OID;
/// the server's input function converts them (under the error guard).
enum SQLArgument {
    case text(String)
    case int8(Int64)
    case float8(Double)
    case bool(Bool)
    case null(typeOID: UInt32)

    var typeOID: UInt32 {
        switch self {
        case .text: UInt32(AUGUR_TEXTOID)
        case .int8: UInt32(AUGUR_INT8OID)
        case .float8: UInt32(AUGUR_FLOAT8OID)
        case .bool: UInt32(AUGUR_BOOLOID)
        case .null(let oid): oid
        }
    }

    var textForm: String? {
        switch self {
        case .text(let value): value
        case .int8(let value): String(value)
        case .float8(let value): value.description
        case .bool(let value): value ? "t" : "f"
        case .null: nil
        }
    }
}

/// One result row: values in the server's text form, by position or column name, with
/// typed accessors that throw a clear error rather than trap on a surprise.
struct SPIRow {
    let columns: [String]
    let values: [String?]

    subscript(_ index: Int) -> String? { values.indices.contains(index) ? values[index] : nil }

    subscript(_ name: String) -> String? {
        columns.firstIndex(of: name).flatMap { values[$0] }
    }

    func int64(_ name: String) throws -> Int64? {
        guard let text = self[name] else { return nil }
        guard let value = Int64(text) else { throw conversionError(name, text, "bigint") }
        return value
    }

    func double(_ name: String) throws -> Double? {
        guard let text = self[name] else { return nil }
        guard let value = Double(text) else { throw conversionError(name, text, "double precision") }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let text = self[name] else { return nil }
        switch text {
        case "t": return true
        case "f": return false
        default: throw conversionError(name, text, "boolean")
        }
    }

    private func conversionError(_ column: String, _ text: String, _ type: String) -> PGError {
        PGError(sqlstate: .dataException,
                message: "augur: column \"\(column)\" value \"\(text)\" is not a \(type)")
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
    @discardableResult
    static func execute(_ sql: String, _ arguments: [SQLArgument] = [],
                        readOnly: Bool = false) throws -> SPIResult {
        var result = augur_spi_result()
        var error = augur_error()
        let types = arguments.map(\.typeOID)
        let ok = withCStrings(arguments.map(\.textForm)) { args in
            augur_spi_execute(sql, Int32(args.count), types, args, readOnly, &result, &error)
        }
        guard ok else { throw PGError(copying: error) }
        defer { augur_spi_result_free(&result) }
        return SPIResult(processed: result.processed, rows: copyRows(result))
    }

    static func query(_ sql: String, _ arguments: [SQLArgument] = []) throws -> [SPIRow] {
        try execute(sql, arguments, readOnly: true).rows
    }

    private static func copyRows(_ result: augur_spi_result) -> [SPIRow] {
        let columnCount = Int(result.ncols)
        let columns = (0..<columnCount).map { String(optionalCString: result.colnames?[$0]) ?? "" }
        guard result.nrows > 0, let cells = result.values else { return [] }
        return (0..<Int(clamping: result.nrows)).map { row in
            SPIRow(columns: columns,
                   values: (0..<columnCount).map { String(optionalCString: cells[row * columnCount + $0]) })
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
