/// A configuration problem a user can fix: a malformed deployment file, a bad `--set`, a missing or mistyped key.
///
/// The ``message`` is one line that says where the problem is, as a file and line
/// (`topology/local.toml:12: expected '=' after key 'interval'`) or as the full dotted key
/// (`sources.payments.rate: expected an integer, got "abc"`), so the command line can print it as it is and exit 2.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The whole message, one line, starting with the file and line or the key.
    public var message: String
    /// What is wrong, without the location.
    public var reason: String
    /// The file (or flag) the error was found in, when it comes from parsing text.
    public var origin: String?
    /// The 1-based line in ``origin``.
    public var line: Int?
    /// The full dotted key the error is about, when it is about one.
    public var key: String?

    /// An error with a message that already says where it is.
    public init(_ message: String) {
        self.message = message
        self.reason = message
    }

    /// An error at a line of a file: `origin:line: reason`.
    public init(origin: String, line: Int?, reason: String) {
        self.message = line.map { "\(origin):\($0): \(reason)" } ?? "\(origin): \(reason)"
        self.reason = reason
        self.origin = origin
        self.line = line
    }

    /// An error about one key, named by its full dotted path: `key: reason`.
    public init(key: String, reason: String) {
        self.message = "\(key): \(reason)"
        self.reason = reason
        self.key = key
    }

    public var description: String { message }
}
