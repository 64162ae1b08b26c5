import KVStream
import KVStreamPayments

/// `fraud-detection` (SPEC section 3), so far with its first rule: `VELOCITY`, at least 5 payments of a customer
/// with `ts` in `[ts - 60 s, ts]`, counting the payment and the prior ones. The other rules and the model's score
/// come with the fraud-detection issue; `score` is null until then.
///
/// Payments are keyed by customer, which is the Kafka message key: every key stays within one input partition,
/// so the job runs per partition and scales out across machines. A customer's payments wait in state until the
/// watermark passes their time and are then evaluated in event-time order (by `ts`, then `event_id`); a payment
/// that arrives behind the watermark is evaluated on arrival.
public let fraudDetection = JobDefinition(
    name: "fraud-detection",
    summary: "fraud alerts per payment (VELOCITY so far), to fraud_alerts"
) { job in
    let payments = job.source("payments", paymentEvents, watermarks: paymentWatermarks)
    payments.sideOutput(.rejected).map("rejected-rows") { RejectedRow($0) }.sink("lake", table: "rejected")
    let alerts = payments
        .keyBy("customer_id", scope: .inputPartition) { $0.customerId }
        .process("rules") { FraudRules() }
    alerts.sink("postgres", table: "fraud_alerts")
    // The same rows as JSON on the `fraud-alerts` topic, when the topology has a `[sinks.kafka]`.
    alerts.sink("kafka", table: "fraud_alerts", optional: true)
}

/// What the rules keep of a payment.
struct ScoredPayment: StateValue, Equatable {
    var eventId: String
    var ts: Int64
    var merchantId: String
    var amountCents: Int64
    var country: String
    var channel: Channel

    init(_ p: Payment) {
        eventId = p.eventId
        ts = p.ts
        merchantId = p.merchantId
        amountCents = p.amountCents
        country = p.country
        channel = p.channel
    }

    func encode(to writer: inout BinaryWriter) {
        eventId.encode(to: &writer)
        ts.encode(to: &writer)
        merchantId.encode(to: &writer)
        amountCents.encode(to: &writer)
        country.encode(to: &writer)
        channel.encode(to: &writer)
    }

    init(from reader: inout BinaryReader) throws(BinaryDecodingError) {
        eventId = try String(from: &reader)
        ts = try Int64(from: &reader)
        merchantId = try String(from: &reader)
        amountCents = try Int64(from: &reader)
        country = try String(from: &reader)
        channel = try Channel(from: &reader)
    }

    /// Event-time order: by `ts`, then `event_id`.
    static func precedes(_ a: ScoredPayment, _ b: ScoredPayment) -> Bool { (a.ts, a.eventId) < (b.ts, b.eventId) }
}

/// The per-customer rules.
struct FraudRules: KeyedProcessFunction {
    static let velocityWindow: Int64 = 60_000
    static let velocityCount = 5

    /// Payments waiting for the watermark.
    var pending: ListState<String, ScoredPayment>!
    /// Times of the evaluated payments of the last velocity window.
    var recent: ListState<String, Int64>!

    mutating func open(_ context: KeyedContext<String>) {
        pending = context.listState("pending")
        recent = context.listState("recent")
    }

    mutating func processElement(_ value: Payment, context: KeyedContext<String>, out: inout Collector<FraudAlertRow>) {
        let payment = ScoredPayment(value)
        if payment.ts <= context.currentWatermark {
            evaluate(payment, customer: context.key, out: &out)
        } else {
            pending.append(payment)
            context.registerEventTimeTimer(payment.ts)
        }
    }

    mutating func onTimer(_ timestamp: Int64, domain: TimeDomain, context: KeyedContext<String>,
                          out: inout Collector<FraudAlertRow>) {
        var due: [ScoredPayment] = []
        pending.modify { all in
            due = all.filter { $0.ts <= timestamp }
            all.removeAll { $0.ts <= timestamp }
        }
        if pending.values.isEmpty { pending.clear() }
        for payment in due.sorted(by: ScoredPayment.precedes) { evaluate(payment, customer: context.key, out: &out) }
    }

    private mutating func evaluate(_ payment: ScoredPayment, customer: String, out: inout Collector<FraudAlertRow>) {
        let from = payment.ts - Self.velocityWindow
        var count = 1
        recent.modify { times in
            // Times older than any window still to come are dropped (the newest time bounds what follows).
            let newest = max(times.max() ?? payment.ts, payment.ts)
            times.removeAll { $0 < newest - 2 * Self.velocityWindow }
            count += times.count { $0 >= from && $0 <= payment.ts }
            times.append(payment.ts)
        }
        guard count >= Self.velocityCount else { return }
        out.emit(FraudAlertRow(payment: payment, customerId: customer, rules: ["VELOCITY"],
                               details: "{\"velocity_count\":\(count)}", detectedAt: Clock.nowMillis()))
    }
}

/// A row of `fraud_alerts` (SPEC section 4).
public struct FraudAlertRow: SinkRow, Equatable {
    var payment: ScoredPayment
    var customerId: String
    var rules: [String]
    var score: Double?
    var details: String
    var detectedAt: Int64

    init(payment: ScoredPayment, customerId: String, rules: [String], score: Double? = nil, details: String,
         detectedAt: Int64) {
        self.payment = payment
        self.customerId = customerId
        self.rules = rules
        self.score = score
        self.details = details
        self.detectedAt = detectedAt
    }

    public static let schema = TableSchema(
        columns: [
            Column("alert_id", .string), Column("event_id", .string), Column("customer_id", .string),
            Column("merchant_id", .string), Column("event_time", .timestamp),
            Column("amount", .decimal(precision: 18, scale: 2)), Column("country", .string),
            Column("channel", .string), Column("rules", .stringArray), Column("score", .double, nullable: true),
            Column("details", .json), Column("detected_at", .timestamp),
        ],
        primaryKey: ["alert_id"], mode: .append)

    public func encode<E: RowEncoder>(to encoder: inout E) {
        encoder.string(payment.eventId)
        encoder.string(payment.eventId)
        encoder.string(customerId)
        encoder.string(payment.merchantId)
        encoder.timestamp(payment.ts)
        encoder.decimal(payment.amountCents, scale: 2)
        encoder.string(payment.country)
        encoder.string(payment.channel.name)
        encoder.stringArray(rules)
        encoder.double(score)
        encoder.json(details)
        encoder.timestamp(detectedAt)
    }
}
