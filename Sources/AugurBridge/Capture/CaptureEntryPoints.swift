import AugurCore
import CShim

@_cdecl("augur_swift_flush")
func augurSwiftFlush(_ flushed: UnsafeMutablePointer<Int64>, _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        flushed.pointee = Int64(try CaptureFlush.run())
        return true
    }
}

/// Called from the post-parse-analyze hook the first time a query id is seen.
@_cdecl("augur_swift_normalize_query")
func augurSwiftNormalizeQuery(_ statement: UnsafePointer<CChar>, _ statementLength: Int32,
                              _ locations: UnsafePointer<Int32>, _ lengths: UnsafePointer<Int32>,
                              _ count: Int32, _ firstParameter: Int32,
                              _ out: UnsafeMutablePointer<CChar>, _ outSize: Int) {
    let bytes = UnsafeRawBufferPointer(start: statement, count: Int(max(statementLength, 0)))
    let constants = (0..<Int(max(count, 0))).map {
        QueryNormalizer.Constant(location: Int(locations[$0]), length: Int(lengths[$0]))
    }
    let text = QueryNormalizer.normalize(statement: Array(bytes), constants: constants,
                                         firstParameter: Int(firstParameter))
    copyCString(text, into: UnsafeMutableRawBufferPointer(start: out, count: outSize))
}
