import KVStream
import KVStreamPayments

/// `fraud-detection` (SPEC section 3): per customer, every payment is checked against five rules and scored by a
/// logistic model (``FraudModel``). A payment for which a rule holds is an alert (`fraud_alerts`, and the
/// `fraud-alerts` topic when a Kafka sink is configured); every evaluated payment goes to the lake table
/// `payments_scored`.
///
/// Payments are keyed by customer, which is the Kafka message key: every key stays within one input partition,
/// so the job runs per partition and scales out across machines.
///
/// Order and "prior" (docs/fraud-detection.md): a customer's payments wait in state until the watermark passes
/// their time and are then evaluated in event-time order (by `ts`, then `event_id`). A payment that arrives
/// behind the watermark, by at most the allowed lateness (60 s), is evaluated on arrival; one later than that goes
/// to the lake table `late_events` and is not evaluated. A payment's prior payments are those evaluated before it.
/// For a payment that waited, that is every payment earlier in event-time order that had arrived by then; for a
/// late one, it includes the payments evaluated before it arrived, even when their `ts` is later than its own.
public let fraudDetection = JobDefinition(
    name: "fraud-detection",
    summary: "fraud rules and a score for every payment, to fraud_alerts and payments_scored"
) { job in
    let model = try FraudModel.load(job.settings)
    let payments = job.source("payments", paymentEvents, watermarks: paymentWatermarks)
    payments.sideOutput(.rejected).map("rejected-rows") { RejectedRow($0) }.sink("lake", table: "rejected")
    let scored = payments
        .keyBy("customer_id", scope: .inputPartition) { $0.customerId }
        .process("rules") { FraudRules(model: model) }
    scored.sink("lake", table: "payments_scored")
    scored.sideOutput(FraudRules.tooLate).sink("lake", table: "late_events")
    let alerts = scored.filter("alerts") { $0.isAlert }.map("alert-rows") { FraudAlertRow($0) }
    alerts.sink("postgres", table: "fraud_alerts")
    // The same rows as JSON on the `fraud-alerts` topic, when the topology has a `[sinks.kafka]`.
    alerts.sink("kafka", table: "fraud_alerts", optional: true)
}

/// The per-customer rules: orders a customer's payments by event time and evaluates each against its profile.
struct FraudRules: KeyedProcessFunction {
    /// Payments later than the allowed lateness, for `late_events`.
    static let tooLate = OutputTag<LateEventRow>("fraud-too-late")

    let model: FraudModel
    /// Payments waiting for the watermark.
    var waiting: ListState<String, PendingPayment>!
    /// What the evaluated payments left behind.
    var profile: ValueState<String, CustomerProfile>!

    init(model: FraudModel) { self.model = model }

    mutating func open(_ context: KeyedContext<String>) {
        waiting = context.listState("waiting")
        profile = context.valueState("profile")
    }

    mutating func processElement(_ value: Payment, context: KeyedContext<String>, out: inout Collector<ScoredPayment>) {
        let watermark = context.currentWatermark
        if value.ts > watermark {
            waiting.append(PendingPayment(value))
            context.registerEventTimeTimer(value.ts)
        } else if value.ts + CustomerProfile.allowedLateness > watermark {
            profile.modify { stored in
                var state = stored ?? CustomerProfile()
                stored = nil  // so that the profile's arrays are not shared, and change in place
                evaluate(PendingPayment(value), customer: context.key, profile: &state, out: &out)
                stored = state
            }
        } else {
            context.countLateRecord()
            context.output(Self.tooLate, LateEventRow(payment: value, operatorName: "rules", watermark: watermark))
        }
    }

    mutating func onTimer(_ timestamp: Int64, domain: TimeDomain, context: KeyedContext<String>,
                          out: inout Collector<ScoredPayment>) {
        let due: [PendingPayment] = waiting.modify { all in
            let due = all.filter { $0.ts <= timestamp }
            all.removeAll { $0.ts <= timestamp }
            return due
        }
        guard !due.isEmpty else { return }
        profile.modify { stored in
            var state = stored ?? CustomerProfile()
            stored = nil
            for payment in due.sorted(by: PendingPayment.precedes) {
                evaluate(payment, customer: context.key, profile: &state, out: &out)
            }
            stored = state
        }
    }

    private func evaluate(_ payment: PendingPayment, customer: String, profile: inout CustomerProfile,
                          out: inout Collector<ScoredPayment>) {
        let features = profile.evaluate(payment)
        out.emit(ScoredPayment(payment: payment, customerId: customer, features: features,
                               score: model.score(features), detectedAt: Clock.nowMillis()))
    }
}
