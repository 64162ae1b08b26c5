import KVStream
import KVStreamPayments

/// Payments as a job reads them: decoded and validated per SPEC section 2, stamped with `ts`, and produced by
/// the synthetic generator when the topology says `type = "generator"`.
public let paymentEvents = EventSource<Payment>(
    formatName: "payment JSON (SPEC section 2)",
    decode: { bytes in PaymentDecoding.decode(bytes).mapError { FormatRejection($0.reason) } },
    timestamp: { $0.ts },
    makeGenerator: { options in try PaymentRecordGenerator(options: options) }
)

/// The watermark strategy of both jobs (SPEC section 3): 5 s of bounded out-of-orderness.
public let paymentWatermarks = WatermarkStrategy.boundedOutOfOrderness(.seconds(5))

/// Generates one split of the payment stream: split `i` of `n` produces events `i, i + n, i + 2n, ...` of the
/// seeded sequence, so all splits together produce the same events whatever `n` is.
struct PaymentRecordGenerator: RecordGenerator {
    private let generator: PaymentGenerator
    private let stride: UInt64
    private var next: UInt64

    init(options: GeneratorOptions) throws {
        let s = options.settings
        var config = PaymentGeneratorConfig()
        if let seed = try s.integer("seed") { config.seed = UInt64(bitPattern: seed) }
        if let customers = try s.integer("customers") { config.customers = Int(customers) }
        if let merchants = try s.integer("merchants") { config.merchants = Int(merchants) }
        if let start = try s.integer("start_millis") { config.startMillis = start }
        // Event time advances with the configured rate, so a live run's event time moves like the clock.
        if let perSecond = try s.double("events_per_second") ?? s.double("rate"), perSecond > 0 {
            config.eventsPerSecond = perSecond
        }
        if let ratio = try s.double("out_of_order_ratio") { config.outOfOrderRatio = ratio }
        if let ratio = try s.double("late_ratio") { config.lateRatio = ratio }
        if let ratio = try s.double("fraud_ratio") { config.fraudRatio = ratio }
        if let problem = config.problem { throw s.error(at: "", "generator: \(problem)") }
        generator = PaymentGenerator(config: config)
        stride = UInt64(options.splits)
        next = UInt64(options.split)
    }

    mutating func generate(into batch: inout RecordBatch<Payment>, count: Int) {
        for _ in 0..<count {
            let payment = generator.payment(at: next)
            batch.append(payment, timestamp: payment.ts)
            next += stride
        }
    }
}

extension Channel: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) { writer.write(rawValue) }
    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        guard let value = Channel(rawValue: try reader.readByte()) else { throw BinaryDecodingError("bad channel") }
        self = value
    }
}

extension Service: BinaryCodable {
    public func encode(to writer: inout BinaryWriter) { writer.write(rawValue) }
    public init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        guard let value = Service(rawValue: try reader.readByte()) else { throw BinaryDecodingError("bad service") }
        self = value
    }
}
