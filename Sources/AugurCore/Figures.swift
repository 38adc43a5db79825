/// Numbers as a reason line shows them, without trapping on any Double.
public enum Figures {
    /// A whole number ("12345"); a non-finite or huge value as JSON writes it.
    public static func whole(_ value: Double) -> String {
        value.isFinite && abs(value) < 9e18 ? String(Int64(value.rounded())) : JSONText.number(value)
    }

    /// Bytes in MB, one decimal below 10 MB ("3.2 MB", "120 MB").
    public static func megabytes(_ bytes: Double) -> String {
        let tenths = (bytes / 104_857.6).rounded()
        guard tenths.isFinite, abs(tenths) < 9e17 else { return "\(JSONText.number(bytes)) bytes" }
        let value = Int64(tenths)
        return abs(value) >= 100 ? "\(value / 10) MB" : "\(value < 0 ? "-" : "")\(abs(value) / 10).\(abs(value) % 10) MB"
    }
}
