/// Numbers as a reason line shows them, without trapping on any Double.
public enum Figures {
    /// A whole number ("12345"); a non-finite or huge value as JSON writes it.
    public static func whole(_ value: Double) -> String {
        value.isFinite && abs(value) < 9e18 ? String(Int64(value.rounded())) : JSONText.number(value)
    }

    /// Seconds, one decimal below 10 s ("4.2 s", "60 s").
    public static func seconds(_ value: Double) -> String {
        oneDecimalBelowTen(value, unit: "s") ?? "\(JSONText.number(value)) s"
    }

    /// Bytes in MB, one decimal below 10 MB ("3.2 MB", "120 MB").
    public static func megabytes(_ bytes: Double) -> String {
        oneDecimalBelowTen(bytes / 1_048_576, unit: "MB") ?? "\(JSONText.number(bytes)) bytes"
    }

    /// A share as a percentage with one decimal ("9.2%").
    public static func percent(_ share: Double) -> String {
        decimals(100 * share, places: 1).map { $0 + "%" } ?? JSONText.number(share)
    }

    /// Two decimals ("1.04").
    public static func ratio(_ value: Double) -> String {
        decimals(value, places: 2) ?? JSONText.number(value)
    }

    /// `value` rounded to 1 or 2 `places`; nil for a non-finite or huge value.
    private static func decimals(_ value: Double, places: Int) -> String? {
        let unit: Int64 = places == 1 ? 10 : 100
        let scaled = (value * Double(unit)).rounded()
        guard scaled.isFinite, abs(scaled) < 9e17 else { return nil }
        let whole = Int64(scaled)
        let fraction = String(abs(whole) % unit)
        return "\(whole < 0 ? "-" : "")\(abs(whole) / unit)." + String(repeating: "0", count: places - fraction.count) + fraction
    }

    /// "3.2 unit" below 10, "120 unit" from 10; nil for a non-finite or huge value.
    private static func oneDecimalBelowTen(_ value: Double, unit: String) -> String? {
        let tenths = (value * 10).rounded()
        guard tenths.isFinite, abs(tenths) < 9e17 else { return nil }
        let whole = Int64(tenths)
        return abs(whole) >= 100 ? "\(whole / 10) \(unit)" : "\(whole < 0 ? "-" : "")\(abs(whole) / 10).\(abs(whole) % 10) \(unit)"
    }
}
