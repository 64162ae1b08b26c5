import Foundation

/// Where an ``S3Client`` sends its requests and how hard it tries.
public struct S3Configuration: Sendable {
    /// The store's URL, `http://127.0.0.1:9000` or `https://s3.eu-west-1.amazonaws.com`; buckets are addressed
    /// path-style (`<endpoint>/<bucket>/<key>`), which every S3-compatible store accepts.
    public var endpoint: URL
    /// The region requests are signed for; stores that have none accept `us-east-1`.
    public var region: String
    /// The one bucket the client works in.
    public var bucket: String
    /// The key pair requests are signed with (``S3Credentials/fromEnvironment(_:)`` or
    /// ``S3Credentials/fromFile(_:profile:)``).
    public var credentials: S3Credentials
    /// Tries of one request, the first included, when it fails in a way that may pass (``S3Error/isRetryable``).
    public var maxAttempts = 5
    /// The wait before the first retry; it doubles for each next one, up to ``maxRetryDelay``, with jitter.
    public var firstRetryDelay: Duration = .milliseconds(100)
    /// The longest wait between two tries.
    public var maxRetryDelay: Duration = .seconds(5)
    /// How long one try may wait for the store before it counts as a lost connection.
    public var requestTimeout: Duration = .seconds(60)

    /// A configuration with the default retries and timeout.
    public init(endpoint: URL, region: String = "us-east-1", bucket: String, credentials: S3Credentials) {
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.credentials = credentials
    }
}

/// A place in a bucket as the lake root and the checkpoint directory spell it: `s3://bucket/prefix`.
public struct S3Location: Sendable, Hashable, CustomStringConvertible {
    /// The bucket's name.
    public var bucket: String
    /// The key prefix, without leading or trailing `/`; empty for the whole bucket.
    public var prefix: String

    /// Parses `s3://bucket` or `s3://bucket/some/prefix/`; nil for anything else.
    public init?(_ url: String) {
        guard url.hasPrefix("s3://") else { return nil }
        let rest = url.dropFirst("s3://".count)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { return nil }
        self.bucket = String(bucket)
        self.prefix = rest.dropFirst(bucket.count).split(separator: "/").joined(separator: "/")
    }

    /// The key of `path` (`payments_scored/dt=2026-11-21/part-0-3-0.parquet`) under the prefix.
    public func key(_ path: String) -> String { prefix.isEmpty ? path : prefix + "/" + path }

    public var description: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }
}

extension Duration {
    /// The duration in seconds, as Foundation's timeouts and sleeps take it.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
