import ArgumentParser
import Foundation
import KVStream
import KVStreamKafka
import KVStreamPayments

struct GenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen", abstract: "Generate synthetic input.", subcommands: [GenPayments.self])
}

/// `kvstream gen payments`: deterministic synthetic payments, with out-of-order, late and invalid lines.
struct GenPayments: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payments", abstract: "Write synthetic payment events (JSON lines), deterministic for a seed.")

    @Option(help: "Valid events to write (invalid lines come on top).") var count: Int = 100_000
    @Option(help: "Events per second of event time (spacing of timestamps).") var rate: Double = 1000
    @Option(help: "Seed of the sequence.") var seed: UInt64 = 42
    @Option(help: "Distinct customers.") var customers: Int = 10_000
    @Option(help: "Distinct merchants.") var merchants: Int = 500
    @Option(name: .customLong("start-millis"), help: "Event time of the first event, epoch ms.")
    var startMillis: Int64 = 1_767_225_600_000
    @Option(name: .customLong("out-of-order-ratio"), help: "Share of events up to 4 s out of order.")
    var outOfOrderRatio: Double = 0.05
    @Option(name: .customLong("late-ratio"), help: "Share of events 90 s to 10 min late.") var lateRatio: Double = 0.002
    @Option(name: .customLong("invalid-ratio"), help: "Share of invalid lines, for dead-letter paths.")
    var invalidRatio: Double = 0.001
    @Option(name: .customLong("fraud-ratio"),
            help: "Share of events that are injected fraud, with as many decoy episodes (0 to 0.02).")
    var fraudRatio: Double?
    @Option(help: "Write to this file.") var out: String?
    @Option(help: "Write to this Kafka topic (with --bootstrap).") var topic: String?
    @Option(help: "Kafka bootstrap servers.") var bootstrap: String?
    @Option(help: "Write the ground truth of the injected payments here (JSON lines; --fraud-ratio defaults to 0.005).")
    var labels: String?

    func run() throws {
        guard count >= 0 else { throw UsageError("gen payments: --count must not be negative") }
        let config = PaymentGeneratorConfig(
            seed: seed, customers: customers, merchants: merchants, startMillis: startMillis, eventsPerSecond: rate,
            outOfOrderRatio: outOfOrderRatio, lateRatio: lateRatio, invalidRatio: invalidRatio,
            fraudRatio: fraudRatio ?? (labels == nil ? 0 : 0.005))
        if let problem = config.problem {
            throw UsageError("gen payments: \(problem.replacingOccurrences(of: "fraudRatio", with: "--fraud-ratio"))")
        }
        if let labels { try writeLabels(labels, config: config) }
        switch (out, topic, bootstrap) {
        case (let out?, nil, nil): try writeFile(out, config: config)
        case (nil, let topic?, let bootstrap?): try produce(topic: topic, bootstrap: bootstrap, config: config)
        default: throw UsageError("gen payments: give either --out FILE or --topic T --bootstrap B")
        }
    }

    /// Sends each line as a message keyed by its customer_id (invalid lines without a key), as SPEC section 2 says
    /// producers do, and waits until all are delivered.
    private func produce(topic: String, bootstrap: String, config: PaymentGeneratorConfig) throws {
        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(bootstrap: bootstrap, context: "gen payments")
        } catch let error as ConfigError {
            throw UsageError("gen payments: \(error.message)")
        }
        var generator = PaymentLineGenerator(config: config)
        var buffer: [UInt8] = []
        var invalid = 0
        let start = KVStream.Clock.monotonicNanos()
        while generator.generator.nextIndex < UInt64(count) {
            buffer.removeAll(keepingCapacity: true)
            switch generator.next() {
            case .valid(let payment):
                payment.appendJSON(to: &buffer)
                var key = payment.customerId
                try key.withUTF8 { key in
                    try buffer.withUnsafeBytes {
                        try producer.produce(topic: topic, key: UnsafeRawBufferPointer(key), value: $0)
                    }
                }
            case .invalid(let raw, _):
                invalid += 1
                buffer.append(contentsOf: raw.utf8)
                try buffer.withUnsafeBytes { try producer.produce(topic: topic, key: nil, value: $0) }
            }
        }
        do {
            try producer.flush(timeout: .seconds(60))
        } catch {
            throw RuntimeFailure("gen payments: \(error)")
        }
        producer.close()
        let seconds = Double(KVStream.Clock.monotonicNanos() - start) / 1e9
        FileHandle.standardError.write(Data(String(
            format: "sent %d messages (%d events, %d invalid) to %@ at %@ in %.1fs\n", count + invalid, count, invalid,
            topic, bootstrap, seconds).utf8))
    }

    /// One JSON line per injected payment of the `count` valid events: its ground truth (`fraud` is true for the
    /// payments a perfect detector flags; decoys and anchors are legitimate).
    private func writeLabels(_ path: String, config: PaymentGeneratorConfig) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path)
        else { throw UsageError("gen payments: cannot write --labels \(path)") }
        let generator = PaymentGenerator(config: config)
        var text = ""
        var fraud = 0
        var injected = 0
        for index in 0..<UInt64(count) {
            guard let label = generator.label(at: index) else { continue }
            let payment = generator.payment(at: index)
            injected += 1
            if label.isFraud { fraud += 1 }
            text += "{\"event_id\":\"\(payment.eventId)\",\"customer_id\":\"\(payment.customerId)\",\"ts\":\(payment.ts),"
                + "\"pattern\":\"\(label.pattern.rawValue)\",\"role\":\"\(label.role.rawValue)\",\"fraud\":\(label.isFraud),"
                + "\"episode\":\"\(label.episode)\"}\n"
            if text.utf8.count >= 1 << 20 {
                try file.write(contentsOf: Data(text.utf8))
                text = ""
            }
        }
        try file.write(contentsOf: Data(text.utf8))
        try file.close()
        FileHandle.standardError.write(Data(
            "wrote \(injected) labels (\(fraud) fraudulent payments, the rest decoys and anchors) to \(path)\n".utf8))
    }

    private func writeFile(_ out: String, config: PaymentGeneratorConfig) throws {
        guard let file = FileHandle(forWritingAtPath: out) ?? {
            FileManager.default.createFile(atPath: out, contents: nil) ? FileHandle(forWritingAtPath: out) : nil
        }() else {
            throw UsageError("gen payments: cannot write \(out)")
        }
        try file.truncate(atOffset: 0)
        var generator = PaymentLineGenerator(config: config)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        var invalid = 0
        while generator.generator.nextIndex < UInt64(count) {
            switch generator.next() {
            case .valid(let payment):
                payment.appendJSON(to: &buffer)
            case .invalid(let raw, _):
                buffer.append(contentsOf: raw.utf8)
                invalid += 1
            }
            buffer.append(UInt8(ascii: "\n"))
            if buffer.count >= 1 << 20 {
                try file.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try file.write(contentsOf: buffer)
        try file.close()
        FileHandle.standardError.write(Data("wrote \(count + invalid) lines (\(count) events, \(invalid) invalid) to \(out)\n".utf8))
    }
}
