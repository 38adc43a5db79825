/// A PostgreSQL SQLSTATE, five characters from [0-9A-Z], packed the way the server packs it
/// (`MAKE_SQLSTATE`: six bits per character), so it can cross the C boundary as an Int32.
public struct SQLState: Equatable, Sendable, CustomStringConvertible {
    public let packed: Int32

    public init?(_ code: String) {
        let bytes = Array(code.utf8)
        guard bytes.count == 5 else { return nil }
        var packed: Int32 = 0
        for (index, byte) in bytes.enumerated() {
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            let isUpper = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")
            guard isDigit || isUpper else { return nil }
            packed |= Int32((byte &- UInt8(ascii: "0")) & 0x3F) << (6 * index)
        }
        self.packed = packed
    }

    public init(packed: Int32) { self.packed = packed }

    public var description: String {
        var characters: [Character] = []
        for index in 0..<5 {
            let sixBits = UInt8((packed >> (6 * index)) & 0x3F)
            characters.append(Character(Unicode.Scalar(sixBits &+ UInt8(ascii: "0"))))
        }
        return String(characters)
    }

    public static let invalidParameterValue = SQLState("22023")!
    public static let objectNotInPrerequisiteState = SQLState("55000")!
    public static let outOfMemory = SQLState("53200")!
    public static let queryCanceled = SQLState("57014")!
    public static let internalError = SQLState("XX000")!
    public static let undefinedTable = SQLState("42P01")!
    public static let undefinedColumn = SQLState("42703")!
    public static let undefinedObject = SQLState("42704")!
    public static let duplicateObject = SQLState("42710")!
    public static let wrongObjectType = SQLState("42809")!
    public static let datatypeMismatch = SQLState("42804")!
}
