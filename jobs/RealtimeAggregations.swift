import KVStream
import KVStreamPayments

/// `realtime-aggregations` (SPEC section 3): business aggregates over payments, upserted as windows fire and
/// as late records (within 60 s of allowed lateness) update them.
///
/// - `sales_per_minute`: 1-minute tumbling windows by (channel, country): count, sum and max of the amount, and
///   the exact number of distinct customers.
/// - `merchant_activity`: 1-hour windows sliding by 5 minutes, by merchant: count and sum of the amount.
///
/// Rejected records go to the lake table `rejected`, records later than the allowed lateness to `late_events`.
public let realtimeAggregations = JobDefinition(
    name: "realtime-aggregations",
    summary: "sales per minute and merchant activity over payments, upserted as windows fire"
) { job in
    let payments = job.source("payments", paymentEvents, watermarks: paymentWatermarks)
    payments.sideOutput(.rejected).map("rejected-rows") { RejectedRow($0) }.sink("lake", table: "rejected")

    let lateSales = OutputTag<LateRecord<Payment>>("late-sales")
    let lateMerchants = OutputTag<LateRecord<Payment>>("late-merchants")

    let sales = payments
        .keyBy("channel, country") { SalesKey(channel: $0.channel, country: $0.country) }
        .window(TumblingWindows.of(.minutes(1)))
        .allowedLateness(.seconds(60))
        .sideOutputLateData(lateSales)
        .aggregate("sales_per_minute", SalesAggregate()) { key, window, acc in
            SalesPerMinuteRow(key: key, window: window, accumulator: acc, updatedAt: Clock.nowMillis())
        }
    sales.sink("postgres", table: "sales_per_minute")

    let merchants = payments
        .keyBy("merchant_id") { $0.merchantId }
        .window(SlidingWindows.of(.hours(1), every: .minutes(5)))
        .allowedLateness(.seconds(60))
        .sideOutputLateData(lateMerchants)
        .aggregate("merchant_activity", CountSumAggregate()) { merchant, window, acc in
            MerchantActivityRow(merchantId: merchant, window: window, count: acc.count, sumCents: acc.sumCents,
                                updatedAt: Clock.nowMillis())
        }
    merchants.sink("postgres", table: "merchant_activity")

    sales.sideOutput(lateSales).union(merchants.sideOutput(lateMerchants))
        .map("late-rows") { LateEventRow($0) }
        .sink("lake", table: "late_events")
}
