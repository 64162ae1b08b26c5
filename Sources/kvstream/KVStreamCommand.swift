import ArgumentParser
import Foundation
import KVStream
import KVStreamKafka
import KVStreamLake
import KVStreamPostgres
import KVStreamJobs
import KVStreamRocksDB
import Logging

/// `kvstream`: runs, describes and feeds stream processing jobs (SPEC section 1).
@main
struct KVStreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvstream",
        abstract: "A stream processing runtime: dataflows of operators over batches, keyed state, event time.",
        subcommands: [
            RunCommand.self, JobsCommand.self, DescribeCommand.self, CheckpointsCommand.self, BrokerCommand.self,
            GenCommand.self,
        ]
    )

    /// Runs the command and maps failures to SPEC's exit codes: 2 for bad usage or configuration (one line
    /// naming the key or flag), 1 for a failure at run time.
    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["KVSTREAM_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? .info
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as UsageError {
            fail(error.message, code: 2)
        } catch let error as ConfigError {
            fail(error.message, code: 2)
        } catch let error as JobDefinitionError {
            fail(error.description, code: 2)
        } catch let error as RuntimeFailure {
            fail(error.message, code: 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            // ArgumentParser's own usage errors: one line, exit code 2 (not its default 64).
            let message = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            fail(message + (code == .validationFailure ? " (see kvstream --help)" : ""),
                 code: code == .validationFailure ? 2 : code.rawValue)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("kvstream: \(message)\n".utf8))
        fflush(nil)
        // Without running exit handlers: after a failure, tasks of the job may still be unwinding on other threads
        // (closing RocksDB stores), and C++ static destructors running under them abort the process.
        _exit(code)
    }
}

/// Bad usage or configuration: exit code 2.
struct UsageError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// A failure at run time: exit code 1.
struct RuntimeFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// The job named on the command line, or a usage error listing the known ones.
func resolveJob(_ name: String) throws -> JobDefinition {
    guard let definition = job(named: name) else {
        throw UsageError("unknown job '\(name)'; known jobs: \(allJobs.map(\.name).joined(separator: ", "))")
    }
    return definition
}

/// Options shared by the commands that read a deployment file.
struct TopologyOptions: ParsableArguments {
    @Option(name: .long, help: "The deployment file (default: topology/local.toml, or its embedded copy).")
    var topology: String?

    @Option(name: .customLong("set"), help: "Override one configuration key: --set section.key=value.")
    var overrides: [String] = []

    func load() throws -> Topology { try Topology.load(path: topology, overrides: overrides) }
}

/// The connectors and state backends this executable links, by topology type name.
func connectorRegistry(_ topology: Topology, job: String) throws -> ConnectorRegistry {
    var registry = ConnectorRegistry()
    registry.registerStateStore(type: "rocksdb", RocksDBStateStore.factory(blockCacheMegabytes: try topology.stateCacheMegabytes()))
    registry.registerSink(type: "lake") { name, section, _ in try LakeSinkConnector(name: name, section: section, job: job) }
    registry.registerSink(type: "postgres") { name, section, _ in try PostgresSinkConnector(name: name, section: section) }
    registry.registerSink(type: "kafka") { name, section, topology in
        try KafkaSinkConnector(name: name, section: section, topology: topology)
    }
    return registry
}
