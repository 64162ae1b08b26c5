import Testing

@testable import KVStream

/// The TOML parser and renderer behind deployment files.
@Suite struct ConfigTests {
    /// The example `topology/local.toml` of SPEC section 6.
    static let localTOML = """
        [job]
        parallelism = 2
        max_parallelism = 128

        [checkpoint]
        interval = "10s"
        dir = "state/checkpoints"       # a directory, or s3://bucket/prefix with [checkpoint.s3] endpoint settings
        retained = 3

        [state]
        backend = "rocksdb"             # or "memory"
        dir = "state/rocksdb"
        cache_mb = 256

        [sources.payments]
        type = "generator"              # or "kafka" (bootstrap, topic, group) or "file" (path)
        rate = 5000                     # events per second
        seed = 42

        [sinks.postgres]
        type = "postgres"
        url = "postgresql://localhost:5432/kvstream"   # the password comes from KVSTREAM_PG_PASSWORD or password_file

        [sinks.lake]
        type = "lake"
        path = "lake"                   # or s3://bucket/prefix with endpoint settings
        """

    func parse(_ toml: String) throws(ConfigError) -> Settings {
        try Settings.parse(toml: toml, origin: "t.toml")
    }

    @Test func specExampleParses() throws {
        let settings = try Settings.parse(toml: Self.localTOML, origin: "topology/local.toml")
        #expect(try settings.requireInteger("job.parallelism") == 2)
        #expect(try settings.requireInteger("job.max_parallelism") == 128)
        #expect(try settings.requireDuration("checkpoint.interval") == .seconds(10))
        #expect(try settings.requireString("checkpoint.dir") == "state/checkpoints")
        #expect(try settings.integer("checkpoint.retained") == 3)
        #expect(try settings.string("state.backend") == "rocksdb")
        #expect(try settings.integer("state.cache_mb") == 256)
        #expect(try settings.string("sources.payments.type") == "generator")
        #expect(try settings.integer("sources.payments.rate") == 5000)
        #expect(try settings.integer("sources.payments.seed") == 42)
        #expect(try settings.string("sinks.postgres.url") == "postgresql://localhost:5432/kvstream")
        #expect(try settings.string("sinks.lake.path") == "lake")
        #expect(settings.keys(under: "") == ["job", "checkpoint", "state", "sources", "sinks"])
        #expect(settings.keys(under: "sources") == ["payments"])
        #expect(settings.keys(under: "sinks") == ["postgres", "lake"])
        #expect(settings.keys(under: "sources.payments") == ["type", "rate", "seed"])
        #expect(settings.keys(under: "sources.payments.type").isEmpty)
        #expect(settings.value(at: "sources.kafka") == nil)
    }

    @Test func strings() throws {
        let settings = try parse(
            #"""
            basic = "tab\there \"quoted\" back\\slash\nnew line"
            unicode = "caf\u00E9 \U0001F600"
            literal = 'C:\path\no escapes "here"'
            empty = ""
            multi = """
            first
              second \
                joined"""
            raw = '''
            keep \n as "is"
            '''
            quotes = """a "quoted" word"" """
            """#)
        #expect(settings.value(at: "basic") == "tab\there \"quoted\" back\\slash\nnew line")
        #expect(settings.value(at: "unicode") == "café 😀")
        #expect(settings.value(at: "literal") == #"C:\path\no escapes "here""#)
        #expect(settings.value(at: "empty") == "")
        #expect(settings.value(at: "multi") == "first\n  second joined")
        #expect(try settings.string("raw") == #"keep \n as "is""# + "\n")
        #expect(settings.value(at: "quotes") == #"a "quoted" word"" "#)
    }

    @Test func numbersAndBooleans() throws {
        let settings = try parse(
            """
            plain = 42
            positive = +17
            negative = -5
            zero = 0
            grouped = 1_000_000
            hex = 0xDEAD_beef
            octal = 0o755
            binary = 0b1101
            max = 9223372036854775807
            min = -9223372036854775808
            fraction = 3.1415
            negative_fraction = -0.01
            exponent = 5e+22
            both = 6.626e-34
            grouped_float = 224_617.445_991
            infinity = -inf
            not_a_number = nan
            yes = true
            no = false
            """)
        let expected: [(String, ConfigValue)] = [
            ("plain", 42), ("positive", 17), ("negative", -5), ("zero", 0), ("grouped", 1_000_000),
            ("hex", 0xDEAD_BEEF), ("octal", 0o755), ("binary", 0b1101), ("max", .integer(.max)),
            ("min", .integer(.min)), ("fraction", 3.1415), ("negative_fraction", -0.01), ("exponent", 5e22),
            ("both", 6.626e-34), ("grouped_float", 224_617.445_991), ("infinity", .float(-.infinity)),
            ("not_a_number", .float(.nan)), ("yes", true), ("no", false),
        ]
        for (key, value) in expected {
            #expect(settings.value(at: key) == value, "\(key)")
        }
    }

    @Test func arraysAndInlineTables() throws {
        let settings = try parse(
            """
            empty = []
            numbers = [1, 2, 3]
            lines = [
                "a",   # first
                "b",
                # a comment line inside
                "c",   # trailing comma next
            ]
            nested = [[1, 2], ["x"], []]
            mixed = [1, "two", 3.0, true]
            point = { x = 1, y = -2 }
            server = { host = "h", ports = [9092, 9093], tls.enabled = true, tls.ca = 'ca.pem', empty = {} }
            points = [{ x = 1 }, { x = 2 }]
            """)
        #expect(settings.value(at: "empty") == [])
        #expect(settings.value(at: "numbers") == [1, 2, 3])
        #expect(settings.value(at: "lines") == ["a", "b", "c"])
        #expect(settings.value(at: "nested") == [[1, 2], ["x"], []])
        #expect(settings.value(at: "mixed") == [1, "two", 3.0, true])
        #expect(settings.value(at: "point") == ["x": 1, "y": -2])
        #expect(settings.value(at: "server.ports") == [9092, 9093])
        #expect(settings.value(at: "server.tls") == ["enabled": true, "ca": "ca.pem"])
        #expect(settings.value(at: "server.empty") == [:])
        #expect(settings.keys(under: "server") == ["host", "ports", "tls", "empty"])
        #expect(settings.value(at: "points") == [["x": 1], ["x": 2]])
    }

    @Test func dottedAndQuotedKeys() throws {
        let settings = try parse(
            """
            site."example.com".port = 8080
            a . b . c = 1
            "quoted key" = "q"
            'literal.key' = "l"
            "" = "empty key"
            3.14 = "two tables"
            bare-key_2 = 2

            [ sinks . "my.sink" ]
            url = "x"

            [fruit]
            apple.color = "red"
            apple.taste.sweet = true

            [fruit.apple.texture]
            smooth = true
            """)
        #expect(settings.value(at: #"site."example.com".port"#) == 8080)
        #expect(settings.value(at: "a.b.c") == 1)
        #expect(settings.value(at: #""quoted key""#) == "q")
        #expect(settings.root["literal.key"] == "l")
        #expect(settings.root[""] == "empty key")
        #expect(settings.value(at: "3.14") == "two tables")
        #expect(settings.value(at: "bare-key_2") == 2)
        #expect(settings.keys(under: "sinks") == ["my.sink"])
        #expect(try settings.string(#"sinks."my.sink".url"#) == "x")
        #expect(settings.value(at: "fruit.apple.color") == "red")
        #expect(settings.value(at: "fruit.apple.taste.sweet") == true)
        #expect(settings.value(at: "fruit.apple.texture.smooth") == true)
    }

    @Test func tablesImpliedByDeeperHeadersMayBeDefinedLater() throws {
        let settings = try parse("[a.b.c]\nx = 1\n\n[a]\ny = 2\nb.w = 4\n\n[a.d]\nz = 3\n")
        #expect(settings.value(at: "a") == ["b": ["c": ["x": 1], "w": 4], "y": 2, "d": ["z": 3]])
    }

    @Test func commentsEverywhereLegal() throws {
        let settings = try parse(
            "# leading comment\r\n"
                + "   # indented comment\n"
                + "\n"
                + "[job] # after a header\n"
                + "parallelism = 4 # after a value\n"
                + "name = \"a # not a comment\" # but this is\n"
                + "list = [ # after the bracket\n"
                + "  1, # after an element\n"
                + "  # on its own line\n"
                + "  2\n"
                + "] # after the array\n"
                + "#no space after the hash\n"
                + "# ends without a newline")
        #expect(settings.value(at: "job") == ["parallelism": 4, "name": "a # not a comment", "list": [1, 2]])
    }

    @Test func emptyDocuments() throws {
        #expect(try parse("") == Settings())
        #expect(try parse("\n# only a comment\n  \n") == Settings())
    }

    /// Malformed inputs and the one-line error each gives, with the file and the line.
    @Test(arguments: [
        ("[checkpoint]\ninterval \"10s\"\n", "t.toml:2: expected '=' after key 'interval', found '\"'"),
        ("interval\n", "t.toml:1: expected '=' after key 'interval'"),
        ("a = \"abc\nb = 1\n", "t.toml:1: unterminated string; expected '\"' before the end of the line"),
        ("a = 'abc\n", "t.toml:1: unterminated literal string; expected \"'\" before the end of the line"),
        ("a = \"\"\"\nabc\n", "t.toml:1: unterminated multi-line string (opened at line 1)"),
        (
            "[job]\nparallelism = 2\nparallelism = 3\n",
            "t.toml:3: duplicate key 'job.parallelism' (first set at line 2)"
        ),
        ("[job]\na = 1\n\n[job]\n", "t.toml:4: table [job] is already defined at line 1"),
        ("a.b = 1\n[a]\n", "t.toml:2: table [a] is already defined by dotted keys at line 1"),
        ("[a.b.c]\n[a]\nb.d = 1\n[a.b]\n", "t.toml:4: table [a.b] is already defined by dotted keys at line 3"),
        ("a = 1\n[a.b]\n", "t.toml:2: 'a' is already an integer (defined at line 1); it cannot also be a table"),
        ("a = 1\na.b = 2\n", "t.toml:2: cannot set 'a.b': 'a' is already an integer (defined at line 1)"),
        ("a = { b = 1 }\n[a.c]\n", "t.toml:2: cannot add to inline table 'a' (defined at line 1)"),
        (
            "[a.b]\nx = 1\n[a]\nb.y = 2\n",
            "t.toml:4: cannot set 'a.b.y' with a dotted key: table [a.b] is defined by its header at line 1"
        ),
        (
            "a = \"bad \\q escape\"\n",
            #"t.toml:1: invalid escape sequence '\q' in string; valid escapes are "#
                + #"\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX"#
        ),
        ("a = \"\\u12G4\"\n", #"t.toml:1: invalid unicode escape '\u12'; expected 4 hexadecimal digits"#),
        ("a = \"\\uD800\"\n", #"t.toml:1: invalid unicode escape '\uD800'; not a Unicode scalar value"#),
        (
            "\n\nday = 1979-05-27\n",
            "t.toml:3: dates and times are not supported; write '1979-05-27' as a string in quotes"
        ),
        ("at = 07:32:00\n", "t.toml:1: dates and times are not supported; write '07:32:00' as a string in quotes"),
        ("a = 1 2\n", "t.toml:1: unexpected '2' after the value of 'a'; expected a new line or a comment"),
        ("a = \"x\" y\n", "t.toml:1: unexpected 'y' after the value of 'a'; expected a new line or a comment"),
        ("[a] b = 1\n", "t.toml:1: unexpected 'b' after table header [a]; expected a new line or a comment"),
        ("a =\n", "t.toml:1: expected a value, found end of line"),
        ("a = # nothing\n", "t.toml:1: expected a value, found '#'"),
        ("interval = 10s\n", "t.toml:1: invalid value '10s'; a string must be in quotes: \"10s\""),
        ("a = 012\n", "t.toml:1: leading zeros are not allowed in number '012'"),
        ("a = 9223372036854775808\n", "t.toml:1: integer '9223372036854775808' does not fit in 64 bits"),
        ("a = 1__0\n", "t.toml:1: invalid value '1__0'; a string must be in quotes: \"1__0\""),
        ("a = -0x1\n", "t.toml:1: '-0x1': a sign is not allowed on hexadecimal, octal or binary integers"),
        ("a = [1, 2\n\nb = 3\n", "t.toml:3: expected ',' or ']' in array, found 'b'"),
        ("a = [1,\n 2,\n", "t.toml:3: unterminated array (opened at line 1); expected ']'"),
        ("a = [1,,2]\n", "t.toml:1: expected a value, found ','"),
        ("a = { b = 1,\n c = 2 }\n", "t.toml:1: expected a key, found end of line"),
        (
            "a = { b = 1\n",
            "t.toml:1: unterminated inline table; an inline table must end with '}' on the line it starts"
        ),
        ("a = { b = 1, }\n", "t.toml:1: a trailing comma is not allowed in an inline table"),
        ("a = { b = 1, b = 2 }\n", "t.toml:1: duplicate key 'b' in inline table"),
        ("[[points]]\nx = 1\n", "t.toml:1: arrays of tables ([[name]]) are not supported"),
        ("[job\n", "t.toml:1: expected ']' after table name 'job', found end of line"),
        ("[]\n", "t.toml:1: expected a key, found ']'"),
        ("= 1\n", "t.toml:1: expected a key, found '='"),
        (
            "a = \"tab\tok but bell \u{07}\"\n",
            "t.toml:1: control character U+0007 in a string must be written as an escape"
        ),
    ])
    func malformedInputs(toml: String, message: String) {
        let error = #expect(throws: ConfigError.self) { try parse(toml) }
        #expect(error?.message == message)
        #expect(error?.origin == "t.toml")
        #expect(error.map { !$0.message.contains("\n") } ?? false)
    }

    @Test func renderRoundTrips() throws {
        let original = try Settings.parse(toml: Self.localTOML, origin: "local.toml")
        let rendered = original.render()
        #expect(rendered.hasPrefix("[job]\nparallelism = 2\nmax_parallelism = 128\n\n[checkpoint]\n"))
        #expect(rendered.contains("\n[sources.payments]\ntype = \"generator\"\n"))
        #expect(!rendered.contains("[sources]"))
        #expect(try parse(rendered) == original)

        let odd = try parse(
            """
            top = "level"
            escapes = "quote \\" tab \\t bell \\u0007 é"
            floats = [1.0, -0.5, 1e-05, 1e+300, inf, -inf, nan]
            inline = [{ a = 1, "b c" = [true] }, {}]
            [empty]
            ["dotted.name".inner]
            key = 1
            """)
        #expect(try parse(odd.render()) == odd)
        #expect(odd.render().contains("[empty]\n"))
        #expect(odd.render().contains("[\"dotted.name\".inner]\nkey = 1\n"))
    }
}
