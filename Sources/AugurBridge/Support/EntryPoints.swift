import AugurCore
import CShim

// The @_cdecl functions the C shim calls (declared in CShim/augur_internal.h) that belong
// to no one concept; the others live with their concept. None of them raises or traps:
// errors go back through the augur_error the caller passes. The linker version script
// keeps them out of augur.so's exported symbols.

@_cdecl("augur_swift_version")
func augurSwiftVersion(_ buffer: UnsafeMutablePointer<CChar>, _ size: Int) {
    copyCString(AugurVersion.current, into: UnsafeMutableRawBufferPointer(start: buffer, count: size))
}

/// Test-only (the tests declare the SQL function): runs `sql` with text parameters
/// through the SPI API and describes the outcome: "<processed>" or, when rows came back,
/// "<processed>: <first row's decoded values>", e.g. "3: 1, 'a', NULL".
@_cdecl("augur_swift_spi_probe")
func augurSwiftSPIProbe(_ sql: UnsafePointer<CChar>, _ argumentCount: Int32,
                        _ arguments: UnsafePointer<UnsafePointer<CChar>?>?,
                        _ outcome: UnsafeMutablePointer<CChar>, _ outcomeSize: Int,
                        _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        let parameters = (0..<Int(max(argumentCount, 0))).map { String(optionalCString: arguments?[$0]) }
        let result = try SPI.execute(String(cString: sql), parameters)
        var description = String(result.processed)
        if let first = result.rows.first {
            description += ": " + first.values.map(\.description).joined(separator: ", ")
        }
        copyCString(description, into: UnsafeMutableRawBufferPointer(start: outcome, count: outcomeSize))
        return true
    }
}
