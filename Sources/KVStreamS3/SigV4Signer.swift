import Foundation

/// AWS Signature Version 4 in the `Authorization` header, as S3 checks it: the canonical request (method, path,
/// sorted and percent-encoded query, the signed headers, the payload's SHA-256) hashed into a string to sign,
/// and that signed with a key derived from the secret, the day, the region and the service.
struct SigV4Signer: Sendable {
    var credentials: S3Credentials
    var region: String
    var service = "s3"

    /// What is signed of one request.
    struct Request {
        var method: String
        /// The path as sent, already percent-encoded (``SigV4Signer/uriEncode(_:keepingSlashes:)``).
        var path: String
        /// Query parameters, not encoded.
        var query: [(name: String, value: String)] = []
        /// Every header to sign, `host`, `x-amz-date` and `x-amz-content-sha256` included.
        var headers: [(name: String, value: String)]
        /// The hex SHA-256 of the body, as the `x-amz-content-sha256` header says it.
        var payloadHash: String
    }

    /// The value of the `Authorization` header; `timestamp` is the request's `x-amz-date`.
    func authorization(_ request: Request, timestamp: String) -> String {
        let canonical = canonicalRequest(request)
        let day = timestamp.prefix(8)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let signed = signature(stringToSign(canonical.text, timestamp: timestamp), day: day)
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope),"
            + "SignedHeaders=\(canonical.signedHeaders),Signature=\(signed)"
    }

    func canonicalRequest(_ request: Request) -> (text: String, signedHeaders: String) {
        let headers = request.headers
            .map { (name: $0.name.lowercased(), value: $0.value.split(separator: " ").joined(separator: " ")) }
            .sorted { $0.name < $1.name }
        let signedHeaders = headers.map(\.name).joined(separator: ";")
        let text = [
            request.method, request.path, Self.canonicalQuery(request.query),
            headers.map { "\($0.name):\($0.value)\n" }.joined(), signedHeaders, request.payloadHash,
        ].joined(separator: "\n")
        return (text, signedHeaders)
    }

    func stringToSign(_ canonicalRequest: String, timestamp: String) -> String {
        "AWS4-HMAC-SHA256\n\(timestamp)\n\(timestamp.prefix(8))/\(region)/\(service)/aws4_request\n"
            + SHA256.hash(canonicalRequest.utf8).hex
    }

    func signature(_ stringToSign: String, day: Substring) -> String {
        var key = HMACSHA256Key(("AWS4" + credentials.secretAccessKey).utf8)
        for part in [String(day), region, service, "aws4_request"] {
            key = HMACSHA256Key(key.authenticationCode(for: part.utf8).bytes)
        }
        return key.authenticationCode(for: stringToSign.utf8).hex
    }

    /// The query as it is both signed and sent: names and values percent-encoded, sorted, `name=value` joined
    /// with `&` (an empty value keeps its `=`).
    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { (uriEncode($0.name), uriEncode($0.value)) }
        return encoded.sorted { ($0.name, $0.value) < ($1.name, $1.value) }
            .map { $0.name + "=" + $0.value }
            .joined(separator: "&")
    }

    /// RFC 3986 percent-encoding of every byte but the unreserved `A-Za-z0-9-._~` (and `/` in paths), with
    /// uppercase hex, which is what S3 computes signatures over.
    static func uriEncode(_ text: String, keepingSlashes: Bool = false) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepingSlashes:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), upperHex[Int(byte >> 4)], upperHex[Int(byte & 0xf)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `x-amz-date`'s form of `date`: `20130524T000000Z`.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}

private let upperHex: [UInt8] = Array("0123456789ABCDEF".utf8)
