import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import KVStreamS3

/// moto's S3-compatible server (`moto[server]` from PyPI, which `make py-deps` installs) on a loopback port, for as
/// long as the value lives, with signature checking turned on: ``user()`` makes an IAM user, after which every
/// request must be signed with its key, as AWS would have it.
final class MotoServer {
    let endpoint: URL
    private let process: Process

    init() throws {
        var lastFailure = ""
        for _ in 0..<3 {
            let port = Int.random(in: 20_000..<60_000)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            // The module rather than the `moto_server` script, which pyenv only finds after a rehash.
            process.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
            let log = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = log
            try process.run()
            let endpoint = URL(string: "http://127.0.0.1:\(port)")!
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline {
                if (try? Self.http("GET", endpoint.appendingPathComponent("moto-api/data.json")))?.status == 200 {
                    self.process = process
                    self.endpoint = endpoint
                    // Drained so that a chatty server never blocks on a full pipe.
                    log.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
                    return
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            lastFailure = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            if lastFailure.contains("No module named") || process.terminationStatus == 127 { break }
        }
        throw S3Error(code: "MotoServer", message: "moto's server did not start (`make py-deps` installs it: "
                      + "pip install 'moto[server]'): \(lastFailure.suffix(500))")
    }

    deinit {
        // Not SIGTERM: children of the test runner inherit its blocked signals, and moto would never see it.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Creates an IAM user allowed everything, with an access key, then turns authentication on.
    func user() throws -> S3Credentials {
        // moto reads the service from the credential scope; nothing checks these signatures yet.
        let unsigned = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/iam/aws4_request, "
            + "SignedHeaders=host, Signature=0"
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        var keys = Data()
        for action in ["Action=CreateUser&UserName=kvstream",
                       "Action=PutUserPolicy&UserName=kvstream&PolicyName=all&PolicyDocument="
                           + SigV4Signer.uriEncode(policy),
                       "Action=CreateAccessKey&UserName=kvstream"] {
            let response = try Self.http("POST", endpoint, body: action + "&Version=2010-05-08",
                                         headers: ["Authorization": unsigned,
                                                   "Content-Type": "application/x-www-form-urlencoded"])
            guard response.status == 200 else { throw S3Error(code: "IAM", message: "\(action): \(response.status)") }
            keys = response.body
        }
        guard let id = S3XML.value(of: "AccessKeyId", in: keys),
              let secret = S3XML.value(of: "SecretAccessKey", in: keys)
        else { throw S3Error(code: "IAM", message: "CreateAccessKey returned no key") }
        let authOn = try Self.http("POST", endpoint.appendingPathComponent("moto-api/reset-auth"), body: "0",
                                   headers: ["Content-Type": "text/plain"])
        guard authOn.status == 200 else { throw S3Error(code: "IAM", message: "reset-auth: \(authOn.status)") }
        return S3Credentials(accessKeyID: id, secretAccessKey: secret)
    }

    /// One unsigned request, waited for.
    static func http(_ method: String, _ url: URL, body: String? = nil, headers: [String: String] = [:])
        throws -> (status: Int, body: Data)
    {
        var request = URLRequest(url: url, timeoutInterval: 5)
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let result = Box()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            result.value = (response as? HTTPURLResponse).map { ($0.statusCode, data ?? Data()) }
            done.signal()
        }.resume()
        done.wait()
        guard let value = result.value else { throw S3Error(code: "ConnectionFailed", message: "\(method) \(url)") }
        return value
    }

    private final class Box: @unchecked Sendable {
        // @unchecked: written by the completion handler before it signals, read after the wait.
        var value: (status: Int, body: Data)?
    }
}
