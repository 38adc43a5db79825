import AugurCore
import CShim

// The @_cdecl functions the C shim calls (declared in CShim/augur_internal.h). None of
// them raises or traps: errors go back through the augur_error the caller passes.
// The linker version script keeps them out of augur.so's exported symbols.

@_cdecl("augur_swift_version")
func augurSwiftVersion(_ buffer: UnsafeMutablePointer<CChar>, _ size: Int) {
    copyCString(AugurVersion.current, into: UnsafeMutableRawBufferPointer(start: buffer, count: size))
}

@_cdecl("augur_swift_check_maintenance_window")
func augurSwiftCheckMaintenanceWindow(_ value: UnsafePointer<CChar>,
                                      _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        do {
            _ = try MaintenanceWindow(parsing: String(cString: value))
        } catch let error as MaintenanceWindow.ParseError {
            throw PGError(sqlstate: .invalidParameterValue, message: error.message, hint: error.hint)
        }
        return true
    }
}

@_cdecl("augur_swift_check_index_budget")
func augurSwiftCheckIndexBudget(_ value: UnsafePointer<CChar>, _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        do throws(IndexBudget.ParseError) {
            _ = try IndexBudget(parsing: String(cString: value))
        } catch {
            throw PGError(sqlstate: .invalidParameterValue, message: error.message, hint: error.hint)
        }
        return true
    }
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

@_cdecl("augur_swift_worker_cycle")
func augurSwiftWorkerCycle(_ previous: Int32, _ database: UnsafePointer<CChar>,
                           _ error: UnsafeMutablePointer<augur_error>) -> Int32 {
    let previousState = WorkerState(shimValue: previous)
    return reportingErrors(error, fallback: previous) {
        let installed = try SPI.query("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = $1",
                                      ["augur"]).first?["extversion"]?.text
        let state = WorkerState(installedVersion: installed)
        if let message = state.logMessage(after: previousState, database: String(cString: database),
                                          installedVersion: installed) {
            augur_log(message)
        }
        if state == .running { _ = try CaptureFlush.run() }
        return state.shimValue
    }
}

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

extension WorkerState {
    var shimValue: Int32 {
        let state = switch self {
        case .starting: AUGUR_WORKER_STARTING
        case .waitingForExtension: AUGUR_WORKER_WAITING_FOR_EXTENSION
        case .running: AUGUR_WORKER_RUNNING
        case .versionMismatch: AUGUR_WORKER_VERSION_MISMATCH
        }
        return Int32(bitPattern: state.rawValue)
    }

    init(shimValue: Int32) {
        self = Self.allCases.first { $0.shimValue == shimValue } ?? .starting
    }
}
