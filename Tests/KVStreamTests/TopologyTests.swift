import Foundation
import Testing

@testable import KVStream

@Suite struct TopologyTests {
    @Test func embeddedCopyMatchesTheFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try String(contentsOf: root.appendingPathComponent("topology/local.toml"), encoding: .utf8)
        #expect(file == EmbeddedTopology.local + "\n")
    }

    @Test func overridesRebindSources() throws {
        let topology = try Topology.load(
            path: nil, overrides: ["sources.payments.type=file", "sources.payments.path=/dev/null", "job.parallelism=3"])
        #expect(try topology.parallelism() == 3)
        guard case .file(let paths) = try topology.sourceBinding("payments", bounded: true) else {
            Issue.record("expected a file binding")
            return
        }
        #expect(paths == ["/dev/null"])
    }

    @Test func configurationMistakesNameTheKey() throws {
        let topology = try Topology.load(path: nil, overrides: ["job.parallelism=0"])
        #expect(throws: ConfigError.self) { try topology.parallelism() }
        do {
            _ = try topology.parallelism()
        } catch {
            #expect(error.message.contains("job.parallelism"))
        }
        let bounded = try Topology.load(path: nil, overrides: [])
        do {
            _ = try bounded.sourceBinding("payments", bounded: true)
            Issue.record("a generator without count must not run bounded")
        } catch {
            #expect(error.message.contains("sources.payments.count"))
        }
        #expect(throws: ConfigError.self) { try bounded.sourceBinding("nope", bounded: false) }
    }

    @Test func jobDefinitionMistakesNameJobAndOperator() throws {
        let job = JobDefinition(name: "no-sink", summary: "") { job in
            _ = job.source("items", arraySourceForTests(), watermarks: .boundedOutOfOrderness(.zero)).map { $0 }
        }
        #expect(throws: JobDefinitionError.self) { try job.logicalGraph() }
        let twice = JobDefinition(name: "twice", summary: "") { job in
            let s = job.source("items", arraySourceForTests(), watermarks: .boundedOutOfOrderness(.zero))
            s.map { ItemRow(item: $0) }.sink("out", table: "t")
            s.map { ItemRow(item: $0) }.sink("out", table: "t")
        }
        do {
            _ = try twice.logicalGraph()
            Issue.record("two sinks into one table must be refused")
        } catch let error as JobDefinitionError {
            #expect(error.description.contains("twice"))
            #expect(error.description.contains("sink:out/t"))
        }
    }
}

func arraySourceForTests() -> EventSource<Item> {
    EventSource(formatName: "items", decode: { _ in .failure(FormatRejection("no")) }, timestamp: { _ in 0 })
}
