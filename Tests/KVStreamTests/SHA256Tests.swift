import Testing

@testable import KVStreamS3

/// SHA-256 against FIPS 180-4's examples, and HMAC-SHA256 against RFC 4231's test cases.
@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
            + "nopqrstu", "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func nistExamples(message: String, digest: String) {
        #expect(SHA256.hash(message.utf8).hex == digest)
    }

    @Test func millionAs() {
        let digest = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)).hex == digest)
        // Not contiguous: hashed through a copy.
        #expect(SHA256.hash(repeatElement(UInt8(ascii: "a"), count: 1_000_000)).hex == digest)
    }

    /// Lengths around the padding's edges: the length field fits in the last block (55), just does not (56),
    /// and whole blocks (64, 120 = 56 + 64). Digests from Python's hashlib.
    @Test(arguments: [
        (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        (65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
        (119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
        (120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"),
    ])
    func paddingEdges(length: Int, digest: String) {
        #expect(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: length)).hex == digest)
    }

    @Test func piecesHashLikeTheWhole() {
        let message = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = SHA256.hash(message)
        for cut in [0, 1, 55, 63, 64, 65, 128, 200, 300] {
            for second in [cut, min(cut + 1, 300), min(cut + 70, 300)] {
                var sha = SHA256()
                sha.update(message[..<cut])
                sha.update(message[cut..<second])
                sha.update(message[second...])
                #expect(sha.finalize() == whole, "cut at \(cut) and \(second)")
            }
        }
        #expect(whole.bytes.count == 32)
        #expect(whole.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() == whole.hex)
    }

    @Test(arguments: [
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (Array(1...25), [UInt8](repeating: 0xcd, count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ([UInt8](repeating: 0xaa, count: 131),
         Array(("This is a test using a larger than block-size key and a larger than block-size data. The key needs"
            + " to be hashed before being used by the HMAC algorithm.").utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ])
    func rfc4231(key: [UInt8], message: [UInt8], code: String) {
        let key = HMACSHA256Key(key)
        #expect(key.authenticationCode(for: message).hex == code)
        var hmac = HMACSHA256(key: key)
        for byte in message { hmac.update(CollectionOfOne(byte)) }
        #expect(hmac.finalize().hex == code)
    }

    /// RFC 4231 test case 5 checks the first 128 bits only.
    @Test func rfc4231Truncated() {
        let code = HMACSHA256Key([UInt8](repeating: 0x0c, count: 20))
            .authenticationCode(for: "Test With Truncation".utf8)
        #expect(code.hex.hasPrefix("a3b6167473100ee06e0c796c2955552b"))
    }

    /// A pseudonymised customer id as the lake writes it (SPEC section 5); the code from Python's `hmac`.
    @Test func customerIDPseudonym() {
        let key = HMACSHA256Key("pii-key".utf8)
        #expect(key.authenticationCode(for: "c-000042".utf8).hex
            == "5553807c2e3de87414c9d16ae68dc26c489d45c59ab799a5bae445300b6b7a07")
    }
}
