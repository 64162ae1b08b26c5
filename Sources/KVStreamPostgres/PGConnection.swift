import CLibPQ
import Foundation
import KVStream
import Logging

let postgresLogger = Logger(label: "kvstream.postgres")

/// Where and how to reach PostgreSQL: a URL (TLS settings such as `sslmode` pass through as its parameters) and a
/// password that comes from the environment or a file, never from the topology.
public struct PostgresEndpoint: Sendable {
    /// The URL without a password, safe to log and to record in checkpoints.
    public let url: String
    let password: String?
    /// How long an operation keeps retrying while the server is unreachable before the job fails.
    public let retryFor: Duration

    public init(url: String, password: String?, retryFor: Duration = .seconds(600)) throws(ConfigError) {
        guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") else {
            throw ConfigError("url \(url): expected postgresql://[user@]host[:port]/database[?sslmode=...]")
        }
        if let at = url.firstIndex(of: "@"), url[..<at].dropFirst("postgresql://".count).contains(":") {
            throw ConfigError("url: put the password in KVSTREAM_PG_PASSWORD or password_file, not in the URL")
        }
        self.url = url
        self.password = password
        self.retryFor = retryFor
    }
}

/// A PostgreSQL error, one line. `connectionLost` tells whether the connection broke (worth retrying elsewhere);
/// `sqlState` is the server's error code (`23505`: unique violation), empty when the client failed.
struct PostgresError: Error, CustomStringConvertible {
    var description: String
    var connectionLost: Bool
    var sqlState = ""

    var isUniqueViolation: Bool { sqlState == "23505" }
}

/// A statement parameter: text, raw bytes (`bytea`, sent in binary format), or NULL.
enum PGValue {
    case text(String)
    case bytes([UInt8])
    case null
}

/// One libpq connection, used by one thread at a time (libpq connections are not thread-safe). Operations
/// reconnect and retry with exponential backoff while the server is unreachable, up to `retryFor`; they block the
/// calling thread meanwhile, which is how a sink holds its task back (backpressure) while PostgreSQL is away.
final class PGConnection {
    private let endpoint: PostgresEndpoint
    private var conn: OpaquePointer?

    init(endpoint: PostgresEndpoint) { self.endpoint = endpoint }

    deinit { if let conn { PQfinish(conn) } }

    private func connect() throws(PostgresError) -> OpaquePointer {
        if let conn, PQstatus(conn) == CONNECTION_OK { return conn }
        if let conn { PQfinish(conn) }
        conn = nil
        // Notices (`relation ... already exists, skipping`) would go to standard error: only warnings and up.
        var keywords = ["dbname", "application_name", "connect_timeout", "options"]
        var values = [endpoint.url, "kvstream", "5", "-c client_min_messages=warning"]
        if let password = endpoint.password {
            keywords.append("password")
            values.append(password)
        }
        let made: OpaquePointer? = withCStrings(keywords) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let made, PQstatus(made) == CONNECTION_OK else {
            let message = made.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            if let made { PQfinish(made) }
            throw PostgresError(description: "cannot connect to \(endpoint.url): \(oneLine(message))", connectionLost: true)
        }
        conn = made
        return made
    }

    /// Runs `body` with a live connection, reconnecting and retrying while the connection is what fails.
    func withRetry<T>(_ what: String, _ body: (OpaquePointer) throws(PostgresError) -> T) throws -> T {
        let deadline = Clock.monotonicNanos() + UInt64(TimeSpan(endpoint.retryFor).milliseconds) * 1_000_000
        var delay: UInt32 = 100_000
        var warned = false
        while true {
            do {
                let result = try body(try connect())
                if warned { postgresLogger.notice("PostgreSQL at \(endpoint.url) is back; \(what) went through") }
                return result
            } catch {
                guard error.connectionLost else { throw ConnectorError("\(what): \(error.description)") }
                if let conn, PQstatus(conn) != CONNECTION_OK {
                    PQfinish(conn)
                    self.conn = nil
                }
                guard Clock.monotonicNanos() < deadline else {
                    throw ConnectorError("\(what): PostgreSQL unreachable for \(endpoint.retryFor): \(error.description)")
                }
                if !warned {
                    postgresLogger.warning("\(what): \(error.description); retrying (the job waits meanwhile)")
                    warned = true
                }
                usleep(delay)
                delay = min(delay * 2, 5_000_000)
            }
        }
    }

    /// Runs statements (no parameters), failing on the first error.
    static func exec(_ conn: OpaquePointer, _ sql: String) throws(PostgresError) {
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        try check(conn, result, sql)
    }

    /// Runs one statement with text parameters; returns the rows of its result as text.
    @discardableResult
    static func query(_ conn: OpaquePointer, _ sql: String, _ parameters: [String]) throws(PostgresError) -> [[String?]] {
        try query(conn, sql, parameters.map(PGValue.text))
    }

    /// Runs one statement; returns the rows of its result as text.
    @discardableResult
    static func query(_ conn: OpaquePointer, _ sql: String, _ parameters: [PGValue]) throws(PostgresError) -> [[String?]] {
        let result = try run(conn, sql, parameters, binaryResult: false)
        defer { PQclear(result) }
        var rows: [[String?]] = []
        for r in 0..<PQntuples(result) {
            rows.append((0..<PQnfields(result)).map { c in
                PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c))
            })
        }
        return rows
    }

    /// Runs a query whose result is one `bytea` value, returned as its raw bytes (nil: no row or NULL).
    static func bytes(_ conn: OpaquePointer, _ sql: String, _ parameters: [PGValue]) throws(PostgresError) -> [UInt8]? {
        let result = try run(conn, sql, parameters, binaryResult: true)
        defer { PQclear(result) }
        guard PQntuples(result) > 0, PQgetisnull(result, 0, 0) == 0 else { return nil }
        let count = Int(PQgetlength(result, 0, 0))
        return PQgetvalue(result, 0, 0).withMemoryRebound(to: UInt8.self, capacity: count) {
            Array(UnsafeBufferPointer(start: $0, count: count))
        }
    }

    private static func run(_ conn: OpaquePointer, _ sql: String, _ parameters: [PGValue], binaryResult: Bool)
        throws(PostgresError) -> OpaquePointer?
    {
        // Text parameters as C strings, bytes as they are; both live until PQexecParams returns.
        let storage: [[UInt8]] = parameters.map { value in
            switch value {
            case .text(let text): Array(text.utf8) + [0]
            case .bytes(let bytes): bytes.isEmpty ? [0] : bytes  // an empty bytea still needs a pointer
            case .null: [0]
            }
        }
        let lengths: [Int32] = parameters.map { if case .bytes(let bytes) = $0 { Int32(bytes.count) } else { 0 } }
        let formats: [Int32] = parameters.map { if case .bytes = $0 { 1 } else { 0 } }
        let result: OpaquePointer? = withPointers(storage, 0) { pointers in
            let values = zip(pointers, parameters).map { pointer, value -> UnsafePointer<CChar>? in
                if case .null = value { return nil }
                return pointer.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
            }
            return PQexecParams(conn, sql, Int32(parameters.count), nil, values, lengths, formats, binaryResult ? 1 : 0)
        }
        do {
            try check(conn, result, sql)
        } catch {
            PQclear(result)
            throw error
        }
        return result
    }

    /// `COPY ... FROM STDIN` of text-format rows.
    static func copy(_ conn: OpaquePointer, _ sql: String, data: [UInt8]) throws(PostgresError) {
        let start = PQexec(conn, sql)
        let status = PQresultStatus(start)
        let startError = String(cString: PQresultErrorMessage(start))
        PQclear(start)
        guard status == PGRES_COPY_IN else {
            throw PostgresError(description: "\(oneLine(startError)) (in \(sql))", connectionLost: PQstatus(conn) != CONNECTION_OK)
        }
        var offset = 0
        while offset < data.count {
            let n = min(1 << 20, data.count - offset)
            let sent = data.withUnsafeBytes { bytes in
                PQputCopyData(conn, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), Int32(n))
            }
            guard sent == 1 else { throw lost(conn) }
            offset += n
        }
        guard PQputCopyEnd(conn, nil) == 1 else { throw lost(conn) }
        while let result = PQgetResult(conn) {
            defer { PQclear(result) }
            try check(conn, result, sql)
        }
    }

    private static func lost(_ conn: OpaquePointer) -> PostgresError {
        PostgresError(description: oneLine(String(cString: PQerrorMessage(conn))), connectionLost: true)
    }

    private static func check(_ conn: OpaquePointer, _ result: OpaquePointer?, _ sql: String) throws(PostgresError) {
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_COPY_IN else { return }
        let message = result.map { String(cString: PQresultErrorMessage($0)) } ?? String(cString: PQerrorMessage(conn))
        // A broken connection, or the server going away (SQLSTATE class 08, 57P01 admin shutdown).
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } ?? ""
        let lost = PQstatus(conn) != CONNECTION_OK || state.hasPrefix("08") || state.hasPrefix("57P")
        let statement = sql.count > 120 ? String(sql.prefix(120)) + "..." : sql
        throw PostgresError(description: "\(oneLine(message)) (in \(statement))", connectionLost: lost, sqlState: state)
    }
}

/// Quotes an identifier for SQL (`"name"`, inner quotes doubled).
func quoted(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

private func oneLine(_ text: String) -> String {
    text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
}

/// Calls `body` with the base address of each buffer (nil for an empty one), valid for the call.
private func withPointers<R>(_ buffers: [[UInt8]], _ index: Int, _ body: ([UnsafePointer<UInt8>?]) -> R) -> R {
    guard index < buffers.count else { return body([]) }
    return buffers[index].withUnsafeBufferPointer { first in
        withPointers(buffers, index + 1) { rest in body([first.baseAddress] + rest) }
    }
}

/// Calls `body` with a NUL-terminated C string array that lives for the call.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    return body(copies.map { UnsafePointer($0) } + [nil])
}
