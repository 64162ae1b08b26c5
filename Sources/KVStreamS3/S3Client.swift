import Foundation
import Logging

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A client for one bucket of an S3-compatible store (AWS S3, MinIO, moto...): the object operations the lake
/// sink and checkpoint storage need, signed with AWS Signature Version 4, over `URLSession`.
///
/// Requests that fail in a way that may pass (a lost connection, a 5xx, throttling) are retried with exponential
/// backoff and jitter (``S3Configuration/maxAttempts``); other failures throw an ``S3Error`` at once.
///
/// ```swift
/// let s3 = try S3Client(S3Configuration(endpoint: URL(string: "http://127.0.0.1:9000")!, bucket: "lake",
///                                       credentials: try .fromEnvironment()))
/// try s3.putObject("t/.part-0-3-0.parquet.inprogress", bytes)
/// try s3.moveObject(from: "t/.part-0-3-0.parquet.inprogress", to: "t/part-0-3-0.parquet")
/// ```
///
/// - Important: Every method blocks the calling thread until its request, retries included, is over: up to
///   ``S3Configuration/maxAttempts`` times ``S3Configuration/requestTimeout``, plus the waits between tries. They
///   are made for sink writers' synchronous checkpoint hooks and commit steps; async code that must not hold a
///   thread of the cooperative pool that long calls them from a thread of its own.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    let signer: SigV4Signer
    let session: URLSession
    let logger: Logger
    /// The endpoint without a trailing `/`; the path-style path follows it.
    let origin: String
    /// The endpoint's own path, percent-encoded, as it starts the signed path.
    let basePath: String
    /// The `Host` header URLSession sends for the endpoint, which the signature covers.
    let host: String

    /// A client for `configuration.bucket`; throws if the endpoint is not an `http` or `https` URL with a host.
    public init(_ configuration: S3Configuration, logger: Logger = Logger(label: "kvstream.s3")) throws(S3Error) {
        let endpoint = configuration.endpoint
        guard let components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let hostName = components.host, !hostName.isEmpty
        else { throw S3Error(code: "InvalidEndpoint", message: "\(endpoint) is not an http or https URL with a host") }
        self.configuration = configuration
        self.logger = logger
        signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        origin = endpoint.absoluteString.hasSuffix("/") ? String(endpoint.absoluteString.dropLast())
            : endpoint.absoluteString
        basePath = components.percentEncodedPath.hasSuffix("/") ? String(components.percentEncodedPath.dropLast())
            : components.percentEncodedPath
        let bracketed = hostName.contains(":") && !hostName.hasPrefix("[") ? "[\(hostName)]" : hostName
        let defaultPort = scheme == "http" ? 80 : 443
        host = components.port.map { $0 == defaultPort ? bracketed : "\(bracketed):\($0)" } ?? bracketed

        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.urlCache = nil
        sessionConfiguration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: sessionConfiguration)
    }

    deinit { session.finishTasksAndInvalidate() }

    /// Creates the bucket (in ``S3Configuration/region``); a bucket that this account already owns is fine.
    public func createBucket() throws(S3Error) {
        let region = configuration.region
        let body = region == "us-east-1" ? Data() : Data(
            ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>"
             + "\(region)</LocationConstraint></CreateBucketConfiguration>").utf8)
        let response = try send("PUT", nil, body: body)
        guard response.status == 200 || response.code == "BucketAlreadyOwnedByYou" else {
            throw response.error(request: "PUT \(location(nil))")
        }
    }

    /// Stores `bytes` as `key`, replacing what was there. S3 takes up to 5 GB in one PUT.
    public func putObject(_ key: String, _ bytes: Data) throws(S3Error) {
        let response = try send("PUT", key, headers: [("content-type", "application/octet-stream")], body: bytes)
        guard response.status == 200 else { throw response.error(request: "PUT \(location(key))") }
    }

    /// The bytes of `key`, or nil when the bucket has no such key.
    public func getObject(_ key: String) throws(S3Error) -> Data? {
        let response = try send("GET", key)
        if response.status == 200 { return response.body }
        if response.code == "NoSuchKey" { return nil }
        throw response.error(request: "GET \(location(key))")
    }

    /// The size of `key` in bytes, or nil when there is no such key (or no such bucket: a HEAD response has no
    /// body to tell them apart).
    public func headObject(_ key: String) throws(S3Error) -> Int? {
        let response = try send("HEAD", key)
        if response.status == 404 { return nil }
        guard response.status == 200, let size = response.contentLength else {
            throw response.error(request: "HEAD \(location(key))")
        }
        return size
    }

    /// Deletes `key`; deleting a key that is not there succeeds, as S3 itself has it.
    public func deleteObject(_ key: String) throws(S3Error) {
        let response = try send("DELETE", key)
        guard response.status == 204 || response.status == 200 else {
            throw response.error(request: "DELETE \(location(key))")
        }
    }

    /// Copies `source` to `destination` within the bucket, on the store's side (objects up to 5 GB).
    public func copyObject(from source: String, to destination: String) throws(S3Error) {
        let copySource = "/" + SigV4Signer.uriEncode(configuration.bucket) + "/"
            + SigV4Signer.uriEncode(source, keepingSlashes: true)
        let response = try send("PUT", destination, headers: [("x-amz-copy-source", copySource)],
                                errorsIn200: true)
        guard response.status == 200 else {
            throw response.error(request: "COPY \(location(source)) to \(location(destination))")
        }
    }

    /// Moves `source` to `destination`: a copy, then a delete, since S3 has no rename; readers see
    /// `destination` whole or not at all. This is how staged files are committed.
    ///
    /// Idempotent, so that a restart can replay a commit: when `source` is gone and `destination` exists, an
    /// earlier move got through and this one succeeds. When both are gone, it throws `NoSuchKey`.
    public func moveObject(from source: String, to destination: String) throws(S3Error) {
        do {
            try copyObject(from: source, to: destination)
        } catch where error.code == "NoSuchKey" {
            guard try headObject(destination) != nil else { throw error }
            return
        }
        try deleteObject(source)
    }

    /// Every key that starts with `prefix`, in S3's order (UTF-8 bytes), fetched `pageSize` keys a request
    /// (ListObjectsV2 with continuation tokens; S3 answers at most 1,000 a page).
    public func listObjects(prefix: String, pageSize: Int = 1000) throws(S3Error) -> [String] {
        try listObjectSizes(prefix: prefix, pageSize: pageSize).map(\.key)
    }

    /// Every key that starts with `prefix`, with its size in bytes, as ``listObjects(prefix:pageSize:)`` lists them.
    public func listObjectSizes(prefix: String, pageSize: Int = 1000) throws(S3Error) -> [(key: String, size: Int)] {
        var keys: [(key: String, size: Int)] = []
        var token: String?
        repeat {
            var query = [(name: "list-type", value: "2"), ("prefix", prefix), ("max-keys", String(pageSize))]
            if let token { query.append(("continuation-token", token)) }
            let response = try send("GET", nil, query: query)
            guard response.status == 200 else {
                throw response.error(request: "LIST \(location(prefix))")
            }
            let names = S3XML.values(of: "Key", in: response.body)
            let sizes = S3XML.values(of: "Size", in: response.body)
            guard sizes.count == names.count else {
                throw S3Error(code: "MalformedListing", message: "\(names.count) keys but \(sizes.count) sizes")
            }
            keys += zip(names, sizes).map { ($0, Int($1) ?? 0) }
            token = S3XML.value(of: "IsTruncated", in: response.body) == "true"
                ? S3XML.value(of: "NextContinuationToken", in: response.body) : nil
        } while token != nil
        return keys
    }

    /// `s3://bucket/key`, for messages.
    func location(_ key: String?) -> String {
        "s3://\(configuration.bucket)" + (key.map { "/\($0)" } ?? "")
    }
}
