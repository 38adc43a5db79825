import AugurCore
import CShim

/// The check hook of `augur.index_budget`: rejected at SET time, not inside the advice.
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
