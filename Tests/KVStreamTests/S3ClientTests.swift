import Foundation
import Testing

@testable import KVStreamS3

/// The S3 client against moto's S3-compatible server on loopback, with its signature checks on where they work.
@Suite struct S3ClientTests {
    @Test func objectsOnAnS3CompatibleStore() throws {
        let moto = try MotoServer()
        let configuration = S3Configuration(endpoint: moto.endpoint, bucket: "kvstream-lake",
                                            credentials: try moto.user())
        let s3 = try S3Client(configuration)

        let noBucket = #expect(throws: S3Error.self) { try s3.putObject("k", Data("x".utf8)) }
        #expect(noBucket?.code == "NoSuchBucket")
        #expect(noBucket?.description.hasPrefix("S3 PUT s3://kvstream-lake/k: NoSuchBucket (404): ") == true)
        try s3.createBucket()
        try s3.createBucket()

        let key = "t/part-0-3-0.parquet"
        let bytes = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try s3.putObject(key, bytes)
        #expect(try s3.getObject(key) == bytes)
        #expect(try s3.headObject(key) == bytes.count)
        try s3.putObject("empty", Data())
        #expect(try s3.getObject("empty") == Data())
        #expect(try s3.headObject("empty") == 0)
        #expect(try s3.getObject("missing") == nil)
        #expect(try s3.headObject("missing") == nil)

        try s3.copyObject(from: key, to: "copy")
        #expect(try s3.getObject("copy") == bytes)
        try s3.deleteObject("copy")
        #expect(try s3.headObject("copy") == nil)
        try s3.deleteObject("copy")

        // A lake commit: the staged object moves to its final key; a replay after a restart finds it moved.
        let staged = "t/.part-0-4-0.parquet.inprogress"
        let final = "t/part-0-4-0.parquet"
        try s3.putObject(staged, Data("rows".utf8))
        try s3.moveObject(from: staged, to: final)
        try s3.moveObject(from: staged, to: final)
        #expect(try s3.getObject(final) == Data("rows".utf8))
        #expect(try s3.listObjects(prefix: "t") == [key, final])
        let lost = #expect(throws: S3Error.self) { try s3.moveObject(from: "t/.gone", to: "t/never") }
        #expect(lost?.code == "NoSuchKey")

        // Several pages of a listing.
        let keys = (0..<250).map { String(format: "k%04d", $0) }
        for key in keys { try s3.putObject(key, Data()) }
        #expect(try s3.listObjects(prefix: "k", pageSize: 100) == keys)
        #expect(try s3.listObjects(prefix: "k01", pageSize: 30) == Array(keys[100..<200]))
        #expect(try s3.listObjects(prefix: "none").isEmpty)

        var wrongSecret = configuration
        wrongSecret.credentials = S3Credentials(accessKeyID: configuration.credentials.accessKeyID,
                                                secretAccessKey: "not-the-secret")
        let denied = #expect(throws: S3Error.self) { try S3Client(wrongSecret).getObject(final) }
        #expect(denied?.code == "SignatureDoesNotMatch")
        #expect(denied?.isRetryable == false)
        #expect(denied?.description.contains("not-the-secret") == false)
    }

    /// Keys as the lake names them (`dt=...`), and worse, and prefixes with `/`. moto checks no signature here: it
    /// recomputes them over a path and query of its own making, in which `/`, `=`, `+`, `&` or `é` are not
    /// encoded as the request had them, and rejects AWS's own SDK on such requests too (boto3 1.43 against moto
    /// 5.2.1). They are signed as for AWS (tested against AWS's examples); here they show the keys arrive intact.
    @Test func keysWithReservedCharacters() throws {
        let moto = try MotoServer()
        let s3 = try S3Client(S3Configuration(
            endpoint: moto.endpoint, bucket: "kvstream-lake",
            credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "unchecked")))
        try s3.createBucket()
        let staged = "payments_scored/dt=2026-11-21/.part 0+&é-1-0.parquet.inprogress"
        let final = "payments_scored/dt=2026-11-21/part 0+&é-1-0.parquet"
        try s3.putObject(staged, Data("rows".utf8))
        #expect(try s3.listObjects(prefix: "payments_scored/dt=2026-11-21/") == [staged])
        try s3.moveObject(from: staged, to: final)
        try s3.moveObject(from: staged, to: final)
        #expect(try s3.listObjects(prefix: "payments_scored/") == [final])
        #expect(try s3.getObject(final) == Data("rows".utf8))
        #expect(try s3.headObject(final) == 4)
        try s3.deleteObject(final)
        #expect(try s3.listObjects(prefix: "").isEmpty)
    }

    @Test func lostConnectionsAreRetriedThenReported() throws {
        // Nothing listens on port 1.
        var configuration = S3Configuration(
            endpoint: URL(string: "http://127.0.0.1:1")!, bucket: "b",
            credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"))
        configuration.maxAttempts = 3
        configuration.firstRetryDelay = .milliseconds(100)
        let start = ContinuousClock.now
        let error = #expect(throws: S3Error.self) { try S3Client(configuration).getObject("k") }
        // Two waits, of at least half of 100 ms and of 200 ms.
        #expect(ContinuousClock.now - start >= .milliseconds(150))
        #expect(error?.code == "ConnectionFailed")
        #expect(error?.isRetryable == true)
        #expect(error?.description.hasPrefix("S3 GET s3://b/k: ConnectionFailed: ") == true)
    }

    @Test func endpointsMustBeHTTP() {
        let credentials = S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")
        for endpoint in ["s3://bucket", "file:///tmp", "http://"] {
            let error = #expect(throws: S3Error.self) {
                try S3Client(S3Configuration(endpoint: URL(string: endpoint)!, bucket: "b", credentials: credentials))
            }
            #expect(error?.code == "InvalidEndpoint")
        }
    }
}
