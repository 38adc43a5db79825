import AugurCore
import CShim

/// A PostgreSQL error as Swift sees it: thrown by SPI calls (copied from the server's
/// ErrorData by the shim) or raised by Swift code for the C wrapper to report.
struct PGError: Error {
    var sqlstate: SQLState
    var message: String
    var detail: String = ""
    var hint: String = ""

    init(sqlstate: SQLState, message: String, detail: String = "", hint: String = "") {
        self.sqlstate = sqlstate
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    init(copying error: augur_error) {
        var error = error
        sqlstate = SQLState(packed: error.sqlstate)
        message = withUnsafeBytes(of: &error.message, stringUpToNUL)
        detail = withUnsafeBytes(of: &error.detail, stringUpToNUL)
        hint = withUnsafeBytes(of: &error.hint, stringUpToNUL)
    }

    /// Writes this error into the shim's fixed-size struct, truncating on a UTF-8 boundary.
    func store(into error: UnsafeMutablePointer<augur_error>) {
        error.pointee.sqlstate = sqlstate.packed
        withUnsafeMutableBytes(of: &error.pointee.message) { copyCString(message, into: $0) }
        withUnsafeMutableBytes(of: &error.pointee.detail) { copyCString(detail, into: $0) }
        withUnsafeMutableBytes(of: &error.pointee.hint) { copyCString(hint, into: $0) }
    }
}

private func stringUpToNUL(_ bytes: UnsafeRawBufferPointer) -> String {
    String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
}

/// The NUL-terminated text in a fixed C array (imported as a tuple).
func cString<Tuple>(of array: Tuple) -> String {
    withUnsafeBytes(of: array, stringUpToNUL)
}

/// Copies `text` into a fixed C array (imported as a tuple), as `copyCString` does.
func copyCString<Tuple>(_ text: String, into array: inout Tuple) {
    withUnsafeMutableBytes(of: &array) { copyCString(text, into: $0) }
}

/// Copies `text` as a NUL-terminated string into `buffer`, cutting it short on a UTF-8
/// character boundary if it does not fit.
func copyCString(_ text: String, into buffer: UnsafeMutableRawBufferPointer) {
    guard buffer.count > 0 else { return }
    let utf8 = Array(text.utf8)
    var length = min(utf8.count, buffer.count - 1)
    // Step back over continuation bytes (10xxxxxx) so no character is split.
    while length > 0, length < utf8.count, utf8[length] & 0xC0 == 0x80 { length -= 1 }
    for index in 0..<length { buffer[index] = utf8[index] }
    buffer[length] = 0
}

extension String {
    /// A String from a C string the shim handed over; nil pointers become nil.
    init?(optionalCString pointer: UnsafePointer<CChar>?) {
        guard let pointer else { return nil }
        self.init(cString: pointer)
    }
}

/// Runs `body`, storing a thrown error into `error` for the C wrapper to raise. Swift code
/// reached from C always goes through here (or an equivalent), so nothing escapes as a trap.
func reportingErrors<T>(_ errorOut: UnsafeMutablePointer<augur_error>, fallback: T,
                        _ body: () throws -> T) -> T {
    errorOut.pointee.sqlstate = 0
    do {
        return try body()
    } catch let failure as PGError {
        failure.store(into: errorOut)
    } catch {
        PGError(sqlstate: .internalError, message: "augur: \(error)").store(into: errorOut)
    }
    return fallback
}
