import Foundation

/// An access key pair for an S3-compatible store.
///
/// Read from the environment or from a file named in the configuration, never from the configuration itself
/// (SPEC section 6). Its descriptions show the key id only, so a credential that reaches a log line or an error
/// message does not give its secret away.
public struct S3Credentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The public half (`AKIA...`).
    public var accessKeyID: String
    let secretAccessKey: String

    /// A key pair given directly.
    public init(accessKeyID: String, secretAccessKey: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }

    /// The pair in `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, as every AWS tool reads it.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(S3Error) -> S3Credentials {
        guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty,
              let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
        else {
            throw S3Error(code: "MissingCredentials",
                          message: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set")
        }
        return S3Credentials(accessKeyID: id, secretAccessKey: secret)
    }

    /// The pair in a file in the format of `~/.aws/credentials`: `aws_access_key_id = ...` and
    /// `aws_secret_access_key = ...` lines, in the `[profile]` section or before any section.
    public static func fromFile(_ path: String, profile: String = "default") throws(S3Error) -> S3Credentials {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw S3Error(code: "MissingCredentials", message: "cannot read credentials file \(path)")
        }
        var section: Substring?
        var values: [Substring: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let line = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = line.dropFirst().dropLast()
            } else if section == nil || section == Substring(profile), let equals = line.firstIndex(of: "=") {
                let name = line[..<equals].trimmingCharacters(in: .whitespaces)
                values[Substring(name)] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            }
        }
        guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else {
            throw S3Error(code: "MissingCredentials",
                          message: "\(path) has no aws_access_key_id and aws_secret_access_key for profile \(profile)")
        }
        return S3Credentials(accessKeyID: id, secretAccessKey: secret)
    }

    public var description: String { "access key \(accessKeyID) (secret not shown)" }
    public var debugDescription: String { description }
}
