/// Why a source's format refused a record; the record goes to the dead-letter outputs with this reason.
public struct FormatRejection: Error, Sendable, Hashable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// Produces synthetic records, a batch at a time (one dynamic call per batch, not per record).
public protocol RecordGenerator<Element>: SendableMetatype {
    associatedtype Element: Sendable
    /// Appends the next `count` records with their event timestamps.
    mutating func generate(into batch: inout RecordBatch<Element>, count: Int)
    /// Skips the next `count` records (to resume from a checkpoint); override when it can jump.
    mutating func skip(_ count: Int)
}

extension RecordGenerator {
    public mutating func skip(_ count: Int) {
        var scratch = RecordBatch<Element>(reservingCapacity: min(count, BatchSize.default))
        var left = count
        while left > 0 {
            let n = min(left, BatchSize.default)
            scratch.removeAll()
            generate(into: &scratch, count: n)
            left -= n
        }
    }
}

/// What a job reads from a named source: how bytes become records, and how to make test records.
///
/// The topology decides where the bytes come from (`generator`, `file`, `kafka`); the job decides what they
/// mean. One ``EventSource`` serves every connector type.
public struct EventSource<Element: Sendable>: Sendable {
    /// A name for describe output (`payments`).
    public var formatName: String
    /// Decodes one record (a line of a file, the value of a Kafka message).
    public var decode: @Sendable (UnsafeRawBufferPointer) -> Result<Element, FormatRejection> {
        didSet { appendDecoded = Self.appender(decode, timestamp) }
    }
    /// Event time of a record, epoch milliseconds.
    public var timestamp: @Sendable (Element) -> Int64 {
        didSet { appendDecoded = Self.appender(decode, timestamp) }
    }
    /// Makes the generator for one split from the source's settings (`[sources.NAME]`), or nil when this kind
    /// of record has no generator.
    @usableFromInline let makeGenerator: (@Sendable (GeneratorOptions) throws -> GeneratorFunction<Element>)?
    /// ``decode`` and ``timestamp`` in one call that appends the record to a batch, or returns why it was refused:
    /// what the source readers call per record.
    ///
    /// Formed by the inlinable `init`s, which the compiler emits where the job names its element type: the copy
    /// of each record into the batch is then specialized. From the generic readers, a struct of strings went
    /// through value witnesses (each string retained and released, the `Result`'s metadata looked up per
    /// record): about a tenth of a Kafka job's CPU.
    @usableFromInline private(set) var appendDecoded:
        @Sendable (UnsafeRawBufferPointer, inout RecordBatch<Element>) -> FormatRejection?

    /// Decodes one record and appends it to `batch` with its timestamp, as the source readers do; or returns why it
    /// was refused, leaving the batch as it was.
    @inlinable
    public func append(decoding bytes: UnsafeRawBufferPointer, to batch: inout RecordBatch<Element>) -> FormatRejection? {
        appendDecoded(bytes, &batch)
    }

    @inlinable
    public init(
        formatName: String,
        decode: @escaping @Sendable (UnsafeRawBufferPointer) -> Result<Element, FormatRejection>,
        timestamp: @escaping @Sendable (Element) -> Int64
    ) {
        self.formatName = formatName
        self.decode = decode
        self.timestamp = timestamp
        makeGenerator = nil
        appendDecoded = Self.appender(decode, timestamp)
    }

    @inlinable
    public init<G: RecordGenerator>(
        formatName: String,
        decode: @escaping @Sendable (UnsafeRawBufferPointer) -> Result<Element, FormatRejection>,
        timestamp: @escaping @Sendable (Element) -> Int64,
        makeGenerator: @escaping @Sendable (GeneratorOptions) throws -> G
    ) where G.Element == Element {
        self.formatName = formatName
        self.decode = decode
        self.timestamp = timestamp
        // The closure is formed here, where the generator's concrete type is known, so that its loop is
        // specialized instead of running through an existential's generic witness.
        self.makeGenerator = { options in
            let box = GeneratorBox(try makeGenerator(options))
            return GeneratorFunction(
                generate: { batch, count in box.generator.generate(into: &batch, count: count) },
                skip: { count in box.generator.skip(count) })
        }
        appendDecoded = Self.appender(decode, timestamp)
    }

    @inlinable
    static func appender(
        _ decode: @escaping @Sendable (UnsafeRawBufferPointer) -> Result<Element, FormatRejection>,
        _ timestamp: @escaping @Sendable (Element) -> Int64
    ) -> @Sendable (UnsafeRawBufferPointer, inout RecordBatch<Element>) -> FormatRejection? {
        { bytes, batch in
            switch decode(bytes) {
            case .success(let value):
                // Moved into the batch: a copy retained each of the record's strings, and the end of `value`
                // released them.
                let time = timestamp(value)
                batch.append(consume value, timestamp: time)
                return nil
            case .failure(let rejection):
                return rejection
            }
        }
    }
}

/// One split's generator, as the source reader calls it.
@usableFromInline
final class GeneratorFunction<Element: Sendable> {
    let generate: (inout RecordBatch<Element>, Int) -> Void
    let skip: (Int) -> Void

    @usableFromInline
    init(generate: @escaping (inout RecordBatch<Element>, Int) -> Void, skip: @escaping (Int) -> Void) {
        self.generate = generate
        self.skip = skip
    }
}

@usableFromInline
final class GeneratorBox<G: RecordGenerator> {
    @usableFromInline var generator: G
    @usableFromInline init(_ generator: G) { self.generator = generator }
}

/// Settings handed to a generator: its source section and which split it produces.
public struct GeneratorOptions: Sendable {
    /// The `[sources.NAME]` section.
    public var settings: Settings
    public var split: Int
    public var splits: Int

    public init(settings: Settings, split: Int, splits: Int) {
        self.settings = settings
        self.split = split
        self.splits = splits
    }
}
