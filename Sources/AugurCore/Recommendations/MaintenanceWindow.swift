/// `augur.maintenance_window`: when approved changes may be applied.
///
/// Grammar: an empty string (never), or a comma-separated list of `[days] HH:MM-HH:MM`,
/// where days is `daily`, a day (`Sun`, `sunday`) or a range (`Mon-Fri`); without days a
/// window applies daily. An end before the start runs past midnight into the next day:
/// `Sat 23:00-01:00` is Saturday 23:00 to Sunday 01:00. Times are in the server's time zone.
public struct MaintenanceWindow: Equatable, Sendable {
    public struct Span: Equatable, Sendable {
        /// Days the span starts on, 0 = Sunday ... 6 = Saturday.
        public var startDays: Set<Int>
        /// Minutes since midnight; `end` may be <= `start` to cross midnight.
        public var start: Int
        public var end: Int
    }

    public var spans: [Span]

    public struct ParseError: Error, Equatable, Sendable {
        public var message: String
        public var hint: String {
            "Use a list such as 'Sun 02:00-04:00' or 'Mon-Fri 01:00-03:00, Sat 22:00-06:00', or '' for never."
        }
    }

    public static let never = MaintenanceWindow(spans: [])

    public init(spans: [Span]) { self.spans = spans }

    public init(parsing text: String) throws(ParseError) {
        var spans: [Span] = []
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingSpaces() }
        if items.count == 1 && items[0].isEmpty {
            self.spans = []
            return
        }
        for item in items {
            guard !item.isEmpty else { throw ParseError(message: "empty entry in \"\(text)\"") }
            spans.append(try Self.parseSpan(item))
        }
        self.spans = spans
    }

    /// Whether the moment (day of week 0 = Sunday, minute of the day) lies in a window.
    public func contains(weekday: Int, minuteOfDay: Int) -> Bool {
        spans.contains { span in
            if span.start < span.end {
                return span.startDays.contains(weekday) && minuteOfDay >= span.start && minuteOfDay < span.end
            }
            let previousDay = (weekday + 6) % 7
            return (span.startDays.contains(weekday) && minuteOfDay >= span.start)
                || (span.startDays.contains(previousDay) && minuteOfDay < span.end)
        }
    }

    private static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
    private static let fullDayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    private static func parseSpan(_ item: Substring) throws(ParseError) -> Span {
        let words = item.split(whereSeparator: { $0 == " " || $0 == "\t" })
        let days: Set<Int>
        let times: Substring
        switch words.count {
        case 1: days = Set(0..<7); times = words[0]
        case 2: days = try parseDays(words[0]); times = words[1]
        default: throw ParseError(message: "\"\(item)\" is not of the form [days] HH:MM-HH:MM")
        }
        let bounds = times.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2 else {
            throw ParseError(message: "\"\(times)\" is not a time range HH:MM-HH:MM")
        }
        let start = try parseTime(bounds[0], allowing24: false)
        let end = try parseTime(bounds[1], allowing24: true)
        guard start != end else {
            throw ParseError(message: "\"\(times)\" is an empty window")
        }
        return Span(startDays: days, start: start, end: end)
    }

    private static func parseDays(_ word: Substring) throws(ParseError) -> Set<Int> {
        let lower = word.lowercased()
        if lower == "daily" { return Set(0..<7) }
        let ends = lower.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 1 || ends.count == 2 else { throw ParseError(message: "\"\(word)\" is not a day or day range") }
        var indices: [Int] = []
        for end in ends {
            guard let index = dayNames.firstIndex(of: String(end)) ?? fullDayNames.firstIndex(of: String(end)) else {
                throw ParseError(message: "\"\(end)\" is not a day name (Sun, Mon, ..., Sat or daily)")
            }
            indices.append(index)
        }
        guard indices.count == 2 else { return [indices[0]] }
        // A range such as Fri-Mon wraps through the weekend.
        var days: Set<Int> = []
        var day = indices[0]
        while true {
            days.insert(day)
            if day == indices[1] { break }
            day = (day + 1) % 7
        }
        return days
    }

    private static func parseTime(_ text: Substring, allowing24: Bool) throws(ParseError) -> Int {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
              let hours = Int(parts[0]), let minutes = Int(parts[1]),
              parts[0].allSatisfy(\.isASCIIDigit), parts[1].allSatisfy(\.isASCIIDigit),
              minutes < 60, hours < 24 || (allowing24 && hours == 24 && minutes == 0)
        else {
            throw ParseError(message: "\"\(text)\" is not a time of day HH:MM")
        }
        return hours * 60 + minutes
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var trimmed = self
        while let first = trimmed.first, first == " " || first == "\t" { trimmed = trimmed.dropFirst() }
        while let last = trimmed.last, last == " " || last == "\t" { trimmed = trimmed.dropLast() }
        return trimmed
    }
}
