import Foundation
import Testing

@testable import KVStream

/// Typed reading, `--set` overrides, durations and merging of ``Settings``.
@Suite struct ConfigSettingsTests {
    let settings: Settings

    init() throws {
        settings = try Settings.parse(toml: ConfigTests.localTOML, origin: "topology/local.toml")
    }

    func message(_ body: () throws -> Void) -> String? {
        #expect(throws: ConfigError.self) { try body() }?.message
    }

    @Test func typedReadersCoerceScalars() throws {
        let typed = try Settings.parse(
            toml: """
                count = "42"
                hex = "0x10"
                ratio = 0.25
                whole = 3
                text_ratio = "2.5"
                flag = "true"
                off = false
                list = [1, 2]
                """, origin: "t.toml")
        #expect(try typed.integer("count") == 42)
        #expect(try typed.integer("hex") == 16)
        #expect(try typed.double("ratio") == 0.25)
        #expect(try typed.double("whole") == 3)
        #expect(try typed.double("text_ratio") == 2.5)
        #expect(try typed.bool("flag") == true)
        #expect(try typed.bool("off") == false)
        #expect(try typed.string("whole") == "3")
        #expect(try typed.string("ratio") == "0.25")
        #expect(try typed.string("off") == "false")
        #expect(try typed.array("list") == [1, 2])
        #expect(try typed.integer("missing") == nil)
        #expect(try typed.duration("missing") == nil)
    }

    @Test func typeErrorsNameTheFullKey() throws {
        var bad = settings
        try bad.apply(override: "sources.payments.rate=abc")
        #expect(
            message { _ = try bad.integer("sources.payments.rate") }
                == #"sources.payments.rate: expected an integer, got "abc""#)
        #expect(
            message { _ = try bad.string("sources.payments") } == "sources.payments: expected a string, got a table")
        #expect(
            message { _ = try bad.integer("checkpoint.interval") }
                == #"checkpoint.interval: expected an integer, got "10s""#)
        #expect(message { _ = try bad.bool("job.parallelism") } == "job.parallelism: expected true or false, got 2")
        #expect(message { _ = try bad.double("state.backend") } == #"state.backend: expected a number, got "rocksdb""#)
        #expect(message { _ = try bad.array("job") } == "job: expected an array, got a table")
        // A subtree still names keys in full.
        let source = try #require(bad.table("sources.payments"))
        #expect(message { _ = try source.integer("rate") } == #"sources.payments.rate: expected an integer, got "abc""#)
        #expect(
            source.error(at: "type", "expected \"kafka\" or \"file\"").message
                == #"sources.payments.type: expected "kafka" or "file""#)
    }

    @Test func requiredValues() throws {
        #expect(try settings.requireString("state.dir") == "state/rocksdb")
        #expect(try settings.requireInteger("checkpoint.retained") == 3)
        #expect(
            message { _ = try settings.requireString("sources.payments.path") }
                == "sources.payments.path: missing required key")
        #expect(message { _ = try settings.requireInteger("job.nope") } == "job.nope: missing required key")
        #expect(message { _ = try settings.requireDouble("x") } == "x: missing required key")
        #expect(
            message { _ = try settings.requireDuration("checkpoint.timeout") }
                == "checkpoint.timeout: missing required key")
        #expect(message { _ = try settings.requireTable("sinks.kafka") } == "sinks.kafka: missing required table")
        #expect(
            message { _ = try settings.requireTable("job.parallelism") }
                == "job.parallelism: expected a table, got 2")
        #expect(try settings.requireTable("sinks.lake").keys(under: "") == ["type", "path"])
        let sink = try settings.requireTable("sinks.postgres")
        #expect(
            message { _ = try sink.requireString("password_file") }
                == "sinks.postgres.password_file: missing required key")
        #expect(try settings.require("job.parallelism", settings.integer("job.parallelism")) == 2)
    }

    @Test func durations() throws {
        let cases: [(String, Duration)] = [
            (#""10s""#, .seconds(10)), (#""250ms""#, .milliseconds(250)), (#""5m""#, .seconds(300)),
            (#""1h""#, .seconds(3600)), (#""1d""#, .seconds(86_400)), (#""1m30s""#, .seconds(90)),
            (#""1h2m3s4ms""#, .milliseconds(3_723_004)), (#""1.5s""#, .milliseconds(1500)),
            (#""0.25h""#, .seconds(900)), (#""100us""#, .microseconds(100)), (#""7ns""#, .nanoseconds(7)),
            (#"" 2s ""#, .seconds(2)), (#""0s""#, .zero), ("1500", .milliseconds(1500)),
            (#""250""#, .milliseconds(250)),
            ("0", .zero),
        ]
        for (text, expected) in cases {
            let parsed = try Settings.parse(toml: "d = \(text)", origin: "t.toml")
            #expect(try parsed.duration("d") == expected, "\(text)")
        }
        for bad in [
            #""10x""#, #""10 s""#, #""s""#, #""-5s""#, #""1.s5""#, #""""#, "-5", "2.5", "true",
            #""10sec""#, #""99999999999d""#, "[1]",
        ] {
            let parsed = try Settings.parse(toml: "[c]\nd = \(bad)", origin: "t.toml")
            let error = message { _ = try parsed.duration("c.d") }
            #expect(
                error?.hasPrefix(#"c.d: expected a duration such as "10s", "250ms" or "1m30s", got "#) == true, "\(bad)"
            )
        }
    }

    @Test func overridesCoerceTheirValues() throws {
        var overridden = settings
        try overridden.apply(override: "job.parallelism=4")
        try overridden.apply(override: "sources.payments.bootstrap=host:9092")
        try overridden.apply(override: #"x.y="quoted""#)
        try overridden.apply(override: "sources.payments.type=file")
        try overridden.apply(override: "sources.payments.path=events.jsonl")
        try overridden.apply(override: "sinks.postgres.url=postgresql://127.0.0.1:5432/db")
        try overridden.apply(override: "checkpoint.interval=250ms")
        try overridden.apply(override: "flags.on = true")
        try overridden.apply(override: "list=[1, 2]")
        try overridden.apply(override: "ratio=2.5")
        try overridden.apply(override: "empty=")
        try overridden.apply(override: "ipv6=[::1]:9092")
        try overridden.apply(override: "topic=007")
        try overridden.apply(override: "note=a # b")
        try overridden.apply(override: #"sinks."my.sink".url=x"#)
        #expect(overridden.value(at: "job.parallelism") == 4)
        #expect(try overridden.integer("job.parallelism") == 4)
        #expect(overridden.value(at: "sources.payments.bootstrap") == "host:9092")
        #expect(overridden.value(at: "x.y") == "quoted")
        #expect(overridden.value(at: "sources.payments.type") == "file")
        #expect(overridden.value(at: "sources.payments.path") == "events.jsonl")
        #expect(overridden.value(at: "sinks.postgres.url") == "postgresql://127.0.0.1:5432/db")
        #expect(try overridden.duration("checkpoint.interval") == .milliseconds(250))
        #expect(overridden.value(at: "flags.on") == true)
        #expect(overridden.value(at: "list") == [1, 2])
        #expect(overridden.value(at: "ratio") == 2.5)
        #expect(overridden.value(at: "empty") == "")
        #expect(overridden.value(at: "ipv6") == "[::1]:9092")
        #expect(overridden.value(at: "topic") == "007")
        #expect(overridden.value(at: "note") == "a # b")
        #expect(overridden.value(at: #"sinks."my.sink".url"#) == "x")
        // New keys go after the file's, existing ones keep their place.
        #expect(overridden.keys(under: "sources.payments") == ["type", "rate", "seed", "bootstrap", "path"])
        #expect(
            overridden.keys(under: "") == [
                "job", "checkpoint", "state", "sources", "sinks", "x", "flags", "list", "ratio", "empty", "ipv6",
                "topic", "note",
            ])
        #expect(overridden.value(at: "sources.payments.rate") == 5000)
    }

    @Test func overridesCanReplaceATableWithAnInlineTable() throws {
        let replaced = try settings.applying(overrides: [#"sources.payments={ type = "file", path = "e.jsonl" }"#])
        #expect(replaced.value(at: "sources.payments") == ["type": "file", "path": "e.jsonl"])
        let twice = try settings.applying(overrides: ["job.parallelism=4", "job.parallelism=8"])
        #expect(try twice.integer("job.parallelism") == 8)
    }

    @Test(arguments: [
        ("parallelism", "--set parallelism: expected KEY=VALUE with a dotted key such as sources.payments.path"),
        ("=4", "--set =4: expected KEY=VALUE with a dotted key such as sources.payments.path"),
        ("a b=1", "--set a b=1: expected KEY=VALUE with a dotted key such as sources.payments.path"),
        ("job.parallelism.x=1", "--set job.parallelism.x=1: 'job.parallelism' is an integer, not a table"),
        (
            "sources.payments=file",
            "--set sources.payments=file: 'sources.payments' is a table; set its keys one by one, "
                + "e.g. --set sources.payments.type=..."
        ),
        (
            #"x.y="unterminated"#,
            #"--set x.y="unterminated: unterminated string; expected '"' before the end of the line"#
        ),
        (
            #"x.y="a\q""#,
            #"--set x.y="a\q": invalid escape sequence '\q' in string; valid escapes are "#
                + #"\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX"#
        ),
    ])
    func badOverrides(override: String, expected: String) {
        var copy = settings
        #expect(message { try copy.apply(override: override) } == expected)
        #expect(copy == settings)
    }

    @Test func merging() throws {
        let base = try Settings.parse(
            toml: "[job]\nparallelism = 2\nname = \"a\"\n[sinks.lake]\npath = \"lake\"\nkeep = [1]\n", origin: "a")
        let over = try Settings.parse(
            toml: "[job]\nparallelism = 8\n[sinks.lake]\nkeep = [2, 3]\n[sinks.kafka]\ntopic = \"t\"\n", origin: "b")
        let merged = base.merging(over)
        #expect(merged.value(at: "job") == ["parallelism": 8, "name": "a"])
        #expect(merged.value(at: "sinks.lake") == ["path": "lake", "keep": [2, 3]])
        #expect(merged.value(at: "sinks.kafka.topic") == "t")
        #expect(merged.keys(under: "sinks") == ["lake", "kafka"])
        #expect(merged.keys(under: "job") == ["parallelism", "name"])
        // A scalar and a table: the other side wins either way.
        let scalar = Settings(root: ["sinks": "none"])
        #expect(base.merging(scalar).value(at: "sinks") == "none")
        #expect(scalar.merging(base).value(at: "sinks.lake.path") == "lake")
        #expect(base.merging(Settings()) == base)
        #expect(Settings().merging(base) == base)
    }

    @Test func equalityIgnoresKeyOrder() throws {
        let one = try Settings.parse(toml: "a = 1\nb = 2\n", origin: "t")
        let other = try Settings.parse(toml: "b = 2\na = 1\n", origin: "t")
        #expect(one == other)
        #expect(one.render() != other.render())
    }

    @Test func loadsFiles() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID()).toml").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data("[job]\nparallelism = 3\nx =\n".utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(message { _ = try Settings.load(file: path) } == "\(path):3: expected a value, found end of line")
        #expect(message { _ = try Settings.load(file: path + ".missing") } == "\(path).missing: no such file")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("[job]\r\nparallelism = 3\r\n".utf8)))
        #expect(try Settings.load(file: path).integer("job.parallelism") == 3)
    }
}
