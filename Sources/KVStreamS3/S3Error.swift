/// A failed S3 request, or a client that cannot be set up; ``description`` is one line.
///
/// `S3 GET s3://lake/payments_scored/part-0-3-0.parquet: NoSuchBucket (404): The specified bucket does not exist`
public struct S3Error: Error, Sendable, CustomStringConvertible {
    /// S3's error code (`NoSuchBucket`, `AccessDenied`, `SignatureDoesNotMatch`), or the HTTP status when the
    /// response has no body (`HTTP 403`), or `ConnectionFailed` when no response came.
    public var code: String
    /// What S3 (or the transport) said.
    public var message: String
    /// The HTTP status, when a response came.
    public var status: Int?
    /// The request: method and `s3://bucket/key`.
    public var request: String?
    /// Whether the same request may succeed later (server errors, throttling, lost connections); the client has
    /// already retried those before throwing.
    public var isRetryable: Bool

    init(code: String, message: String, status: Int? = nil, request: String? = nil, isRetryable: Bool = false) {
        self.code = code
        self.message = message
        self.status = status
        self.request = request
        self.isRetryable = isRetryable
    }

    public var description: String {
        let status = status.map { " (\($0))" } ?? ""
        let message = message.isEmpty ? "" : ": \(message)"
        return (request.map { "S3 \($0): " } ?? "S3: ") + code + status + message
    }
}
