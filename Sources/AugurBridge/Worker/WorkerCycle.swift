import AugurCore
import CShim

/// One cycle of the collector: is the extension there, at our version; if so, flush and
/// count the dictionaries' changes.
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
        if state == .running {
            _ = try CaptureFlush.run()
            try Dictionaries.refreshDue()
        }
        return state.shimValue
    }
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
