import Foundation
import Testing

@testable import KVStreamS3

/// Signature Version 4 against the signature calculations AWS publishes for S3 ("Examples: Signature
/// Calculations" of the header-based authentication page), and the client's small parsers.
@Suite struct SigV4Tests {
    static let signer = SigV4Signer(
        credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                   secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    static let timestamp = "20130524T000000Z"
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func headers(_ extra: [(name: String, value: String)], payloadHash: String = emptyHash)
        -> [(name: String, value: String)]
    {
        [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", payloadHash),
         ("x-amz-date", timestamp)] + extra
    }

    @Test func getObject() {
        let request = SigV4Signer.Request(method: "GET", path: "/test.txt",
                                          headers: Self.headers([("Range", "bytes=0-9")]), payloadHash: Self.emptyHash)
        let canonical = Self.signer.canonicalRequest(request)
        #expect(canonical.text == """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        #expect(Self.signer.stringToSign(canonical.text, timestamp: Self.timestamp) == """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
            """)
        #expect(Self.signer.authorization(request, timestamp: Self.timestamp)
            == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func putObject() {
        let payloadHash = SHA256.hash("Welcome to Amazon S3.".utf8).hex
        #expect(payloadHash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let request = SigV4Signer.Request(
            method: "PUT", path: SigV4Signer.uriEncode("/test$file.text", keepingSlashes: true),
            headers: Self.headers([("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                                   ("x-amz-storage-class", "REDUCED_REDUNDANCY")], payloadHash: payloadHash),
            payloadHash: payloadHash)
        #expect(request.path == "/test%24file.text")
        #expect(Self.signer.authorization(request, timestamp: Self.timestamp).hasSuffix(
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
            + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
    }

    @Test func getBucketLifecycle() {
        let request = SigV4Signer.Request(method: "GET", path: "/", query: [("lifecycle", "")],
                                          headers: Self.headers([]), payloadHash: Self.emptyHash)
        #expect(Self.signer.authorization(request, timestamp: Self.timestamp).hasSuffix(
            "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"))
    }

    @Test func listObjects() {
        let request = SigV4Signer.Request(method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
                                          headers: Self.headers([]), payloadHash: Self.emptyHash)
        #expect(Self.signer.canonicalRequest(request).text.split(separator: "\n")[2] == "max-keys=2&prefix=J")
        #expect(Self.signer.authorization(request, timestamp: Self.timestamp).hasSuffix(
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
    }

    @Test func encoding() {
        #expect(SigV4Signer.uriEncode("t/dt=2026-11-21/part-0-3-0.parquet", keepingSlashes: true)
            == "t/dt%3D2026-11-21/part-0-3-0.parquet")
        #expect(SigV4Signer.uriEncode("a b+c/é~") == "a%20b%2Bc%2F%C3%A9~")
        // Sorted by encoded name, then value; `-` sorts before `=`, so this is not a sort of `name=value`.
        #expect(SigV4Signer.canonicalQuery([("a", "2"), ("a-b", "1"), ("a", "1"), ("c", "x y")])
            == "a=1&a=2&a-b=1&c=x%20y")
        #expect(SigV4Signer.timestamp(Date(timeIntervalSince1970: 1_369_353_600)) == "20130524T000000Z")
    }

    @Test func locations() {
        let location = S3Location("s3://lake/prefix/a/")
        #expect(location?.bucket == "lake" && location?.prefix == "prefix/a")
        #expect(S3Location("s3://lake")?.key("t/part-0-1-0.parquet") == "t/part-0-1-0.parquet")
        #expect(S3Location("s3://lake/p")?.key("t/x") == "p/t/x")
        #expect(S3Location("s3://lake/p")?.description == "s3://lake/p")
        #expect(S3Location("s3:///p") == nil)
        #expect(S3Location("lake/p") == nil)
    }

    @Test func xml() {
        let body = Data("""
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult><Contents><Key>a&amp;b&lt;c&#x263A;&#65;</Key></Contents>\
            <Contents><Key>plain</Key></Contents><IsTruncated>false</IsTruncated></ListBucketResult>
            """.utf8)
        #expect(S3XML.values(of: "Key", in: body) == ["a&b<c\u{263A}A", "plain"])
        #expect(S3XML.value(of: "IsTruncated", in: body) == "false")
        #expect(S3XML.value(of: "Code", in: body) == nil)
        #expect(S3XML.decodeEntities("x & y &unknown; z") == "x & y &unknown; z")
    }

    @Test func credentials() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kvstream-creds-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try """
            [other]
            aws_access_key_id = WRONG
            [default]
            aws_access_key_id = AKIDEXAMPLE
            aws_secret_access_key = s3cr3t/with=equals
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let fromFile = try S3Credentials.fromFile(path)
        #expect(fromFile.accessKeyID == "AKIDEXAMPLE" && fromFile.secretAccessKey == "s3cr3t/with=equals")
        #expect(throws: S3Error.self) { try S3Credentials.fromFile(path, profile: "other") }

        let fromEnvironment = try S3Credentials.fromEnvironment(
            ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t"])
        for text in ["\(fromEnvironment)", String(reflecting: fromEnvironment)] {
            #expect(text.contains("AKIDEXAMPLE") && !text.contains("s3cr3t"))
        }
        let missing = #expect(throws: S3Error.self) { try S3Credentials.fromEnvironment([:]) }
        #expect(missing?.code == "MissingCredentials")
    }
}
