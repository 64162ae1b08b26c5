/// One value of a deployment file: a TOML scalar, an array, or a table.
///
/// - Important: Two `.float(.nan)` values compare equal, so that a parsed file equals the same file parsed again
///   after ``Settings/render()``; everywhere else equality is the usual one.
public enum ConfigValue: Sendable, Equatable {
    /// A basic, literal or multi-line string, or a bare `--set` value.
    case string(String)
    /// A 64-bit integer, whether written in decimal, hexadecimal, octal or binary.
    case integer(Int64)
    /// A float, including `inf` and `nan`.
    case float(Double)
    /// `true` or `false`.
    case boolean(Bool)
    /// An array, whose elements may differ in type.
    case array([ConfigValue])
    /// A table: a `[header]` section, a dotted key's parent or an inline table.
    case table(ConfigTable)

    public static func == (lhs: ConfigValue, rhs: ConfigValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.float(let a), .float(let b)): a == b || (a.isNaN && b.isNaN)
        case (.boolean(let a), .boolean(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.table(let a), .table(let b)): a == b
        default: false
        }
    }

    /// The table this value holds, if it is one.
    public var tableValue: ConfigTable? {
        if case .table(let table) = self { table } else { nil }
    }

    /// The kind of the value with its article, as error messages name it: "an integer", "a table".
    var kindDescription: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }

    /// The value as an error message shows it: scalars as TOML text (`"abc"`, `12`), containers by their kind.
    var errorDescription: String {
        switch self {
        case .array, .table: kindDescription
        default: TOMLRenderer.inlineValue(self)
        }
    }
}

extension ConfigValue: CustomStringConvertible {
    /// The value as inline TOML: `"text"`, `12`, `[1, 2]`, `{ a = 1 }`.
    public var description: String { TOMLRenderer.inlineValue(self) }
}

// Literals keep tests and built-in defaults readable: `["job": ["parallelism": 2]]`.
extension ConfigValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(arrayLiteral elements: ConfigValue...) { self = .array(elements) }

    public init(dictionaryLiteral elements: (String, ConfigValue)...) {
        var table = ConfigTable()
        for (key, value) in elements { table[key] = value }
        self = .table(table)
    }
}
