import KVStreamPayments
import Testing

@testable import KVStream

/// Mutated deployment files: the parser never traps, its errors stay on one line, and whatever it accepts renders
/// back to TOML that parses to the same tree.
@Suite struct ConfigFuzzTests {
    static let seedDocument =
        ConfigTests.localTOML + """

            [extra]
            list = [1, { a = "\\u00E9" }, '''multi
            line''', \"\"\"joined \\
              text\"\"\", 0x1F, 1e5, -inf]
            site."a.b" = 'x'
            """

    @Test func mutatedDocumentsParseOrFailCleanly() throws {
        // SplitMix64: a fixed seed keeps failures reproducible.
        var random = SplitMix64(seed: 42)
        let base = Array(Self.seedDocument.utf8)
        let alphabet = Array("[]{}\"'\\=.,#\n\r\t ab019_-+xe:".utf8) + [0x00, 0xC3, 0xA9]
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                let byte = alphabet[Int.random(in: 0..<alphabet.count, using: &random)]
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[position] = byte
                case 1: bytes.insert(byte, at: position)
                default: bytes.remove(at: position)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                let settings = try Settings.parse(toml: text, origin: "fuzz.toml")
                accepted += 1
                #expect(try Settings.parse(toml: settings.render(), origin: "rendered") == settings, "\(text)")
            } catch {
                #expect(error.message.hasPrefix("fuzz.toml:") && !error.message.contains("\n"), "\(error.message)")
            }
        }
        // Enough mutations land in comments or values that still parse for the round trip to be exercised.
        #expect(accepted > 300)
    }
}
