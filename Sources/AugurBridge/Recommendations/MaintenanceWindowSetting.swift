import AugurCore
import CShim

/// The check hook of `augur.maintenance_window`: parsed at SET time, in the postmaster too.
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
