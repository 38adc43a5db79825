/// How a dictionary is named and how it encodes: `augur.dictionary_create`'s options.
/// The encodings' parameters and defaults are category_encoders' (`TargetEncoder`'s
/// smoothing and min_samples_leaf, `WOEEncoder`'s regularization), so that a dictionary's
/// encodings equal what a data scientist computes with it.
public struct DictionaryOptions: Equatable, Sendable {
    public var name: String?
    public var smoothing = 10.0
    public var minSamplesLeaf = 20.0
    public var regularization = 1.0
    /// Differential privacy: the ε each version spends (Laplace noise on what it publishes).
    public var epsilon: Double?
    /// The most ε all of a dictionary's versions may spend together.
    public var epsilonBudget: Double?
    /// A numeric target is clipped to [−bound, bound]: one row then moves a sum by at most
    /// that much, the sensitivity the noise is scaled to.
    public var targetBound: Double?

    public static let known = ["epsilon", "epsilon_budget", "min_samples_leaf", "name", "regularization",
                               "smoothing", "target_bound"]

    /// Longest name: the dictionary's objects add up to 13 bytes to it within 63.
    public static let longestName = 48

    public struct ParseError: Error, Equatable, Sendable {
        public let message: String
        public let hint: String
    }

    public init() {}

    /// `options` as `jsonb_each_text` gives them (JSON null as nil).
    public init(parsing options: [String: String?]) throws(ParseError) {
        for (key, value) in options.sorted(by: { $0.key < $1.key }) {
            guard let value else {
                throw ParseError(message: "option \"\(key)\" must not be null", hint: "Leave it out for its default.")
            }
            switch key {
            case "name":
                guard Self.isValidName(value) else {
                    throw ParseError(message: "\"\(value)\" is not a valid dictionary name",
                                     hint: "Lower-case letters, digits and underscores, starting with a letter or an underscore, at most \(Self.longestName) bytes.")
                }
                name = value
            case "smoothing":
                smoothing = try Self.number(value, key: key, above: 0, default: smoothing)
            case "min_samples_leaf":
                minSamplesLeaf = try Self.number(value, key: key, atLeast: 0, default: minSamplesLeaf)
            case "regularization":
                regularization = try Self.number(value, key: key, atLeast: 0, default: regularization)
            case "epsilon":
                epsilon = try Self.number(value, key: key, above: 0, default: nil)
            case "epsilon_budget":
                epsilonBudget = try Self.number(value, key: key, above: 0, default: nil)
            case "target_bound":
                targetBound = try Self.number(value, key: key, above: 0, default: nil)
            default:
                throw ParseError(message: "unknown option \"\(key)\"",
                                 hint: "Known options: \(Self.known.joined(separator: ", ")).")
            }
        }
        if epsilonBudget != nil, epsilon == nil {
            throw ParseError(message: "option \"epsilon_budget\" needs \"epsilon\"",
                             hint: "epsilon is what each version spends; epsilon_budget what they may spend together.")
        }
        if let epsilon, let epsilonBudget, epsilonBudget < epsilon {
            throw ParseError(message: "epsilon_budget (\(epsilonBudget)) is smaller than one version's epsilon (\(epsilon))",
                             hint: "The first version would already exceed it.")
        }
    }

    /// The name a dictionary of `relation.column` gets when none is given: both lower-cased,
    /// anything but letters, digits and underscores made an underscore, cut to fit.
    public static func defaultName(relation: String, column: String) -> String {
        let cleaned = String((relation + "_" + column).lowercased().unicodeScalars.map { scalar -> Character in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        })
        let startsWithDigit = cleaned.unicodeScalars.first.map { ("0"..."9").contains($0) } ?? false
        return String(((startsWithDigit ? "_" : "") + cleaned).prefix(longestName))
    }

    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= longestName,
              ("a"..."z").contains(first) || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    private static func number(_ text: String, key: String, above lower: Double? = nil,
                               atLeast floor: Double? = nil, default: Double?) throws(ParseError) -> Double {
        guard let value = Double(text), value.isFinite, value <= 1e12,
              lower.map({ value > $0 }) ?? true, floor.map({ value >= $0 }) ?? true else {
            let bound = lower.map { "greater than \(Int($0))" } ?? "at least \(Int(floor ?? 0))"
            throw ParseError(message: "option \"\(key)\" must be a number \(bound), not \"\(text)\"",
                             hint: `default`.map { "category_encoders' default: \(Figures.whole($0))." } ?? "A positive number, such as 1.")
        }
        return value
    }
}
