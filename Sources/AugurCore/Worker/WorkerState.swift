/// What the collector found in its database on one cycle, and what it says about it.
/// The worker logs only on a change of state, so a missing extension is reported once
/// rather than every `augur.naptime`.
public enum WorkerState: Equatable, Sendable, CaseIterable {
    case starting
    case waitingForExtension
    case running
    case versionMismatch

    /// - Parameter installedVersion: `pg_extension.extversion` of augur, nil if absent.
    public init(installedVersion: String?, libraryVersion: String = AugurVersion.current) {
        switch installedVersion {
        case nil: self = .waitingForExtension
        case libraryVersion?: self = .running
        case _?: self = .versionMismatch
        }
    }

    /// The log line for entering this state from `previous`, or nil when nothing changed.
    public func logMessage(after previous: WorkerState, database: String,
                           installedVersion: String?) -> String? {
        guard self != previous else { return nil }
        switch self {
        case .starting:
            return nil
        case .waitingForExtension:
            return "extension \"augur\" is not installed in database \"\(database)\"; "
                + "the collector waits (run CREATE EXTENSION augur there)"
        case .running:
            return "collector running in database \"\(database)\""
        case .versionMismatch:
            return "extension \"augur\" version \(installedVersion ?? "?") is installed in database "
                + "\"\(database)\" but the library is \(AugurVersion.current); "
                + "run ALTER EXTENSION augur UPDATE"
        }
    }
}
