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

    /// "3.2 unit" below 10, "120 unit" from 10; nil for a non-finite or huge value.
    private static func oneDecimalBelowTen(_ value: Double, unit: String) -> String? {
        let tenths = (value * 10).rounded()
        guard tenths.isFinite, abs(tenths) < 9e17 else { return nil }
        let whole = Int64(tenths)
        return abs(whole) >= 100 ? "\(whole / 10) \(unit)" : "\(whole < 0 ? "-" : "")\(abs(whole) / 10).\(abs(whole) % 10) \(unit)"
    }
}
