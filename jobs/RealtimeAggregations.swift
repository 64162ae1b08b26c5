import KVStream
import KVStreamPayments

/// `realtime-aggregations` (SPEC section 3): business aggregates over payments, upserted as windows fire and
/// as late records (within 60 s of allowed lateness) update them.
///
/// - `sales_per_minute`: 1-minute tumbling windows by (channel, country): count, sum and max of the amount, and
///   the exact number of distinct customers.
/// - `merchant_activity`: 1-hour windows sliding by 5 minutes, by merchant: count and sum of the amount.
/// - `daily_client_summary`: 1-day tumbling windows (UTC days) by (customer, service): count, sum, min and max of
///   the amount, first and last event time. A day is long to wait for, so its rows are also upserted early, every
///   10 s of processing time for the (customer, service) pairs that paid since; the row written when the day
///   closes is exact.
///
/// Rejected records go to the lake table `rejected`, records later than the allowed lateness to `late_events`.
public let realtimeAggregations = JobDefinition(
    name: "realtime-aggregations",
    summary: "sales per minute, merchant activity and daily client summaries over payments, upserted as windows fire"
) { job in
    let payments = job.source("payments", paymentEvents, watermarks: paymentWatermarks)
    payments.sideOutput(.rejected).map("rejected-rows") { RejectedRow($0) }.sink("lake", table: "rejected")

    let lateSales = OutputTag<LateRecord<Payment>>("late-sales")
    let lateMerchants = OutputTag<LateRecord<Payment>>("late-merchants")
    let lateDays = OutputTag<LateRecord<Payment>>("late-days")

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

    let days = payments
        .keyBy("customer_id, service") { ClientServiceKey(customerId: $0.customerId, service: $0.service) }
        .window(TumblingWindows.of(.days(1)))
        .allowedLateness(.seconds(60))
        .trigger(.earlyFiring(every: .seconds(10)))
        .sideOutputLateData(lateDays)
        .aggregate("daily_client_summary", DailySummaryAggregate()) { key, window, summary in
            DailyClientSummaryRow(key: key, window: window, summary: summary, updatedAt: Clock.nowMillis())
        }
    days.sink("postgres", table: "daily_client_summary")

    sales.sideOutput(lateSales).union(merchants.sideOutput(lateMerchants), days.sideOutput(lateDays))
        .map("late-rows") { LateEventRow($0) }
        .sink("lake", table: "late_events")
}
