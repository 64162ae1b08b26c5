import Foundation

/// A source as the job declared it: its name in the topology, its watermarks, and how to make its readers.
struct SourceDeclaration: Sendable {
    let name: String
    /// The source's node name in the graph (`source:NAME`), which scopes its state in checkpoints.
    let nodeName: String
    let watermarks: WatermarkStrategy
    let spawner: any SourceSpawning
}

/// Where a source's records come from, as the topology's `[sources.NAME]` section says.
public enum SourceBinding: Sendable {
    /// JSON lines from files; a directory means every `*.jsonl` file in it, one split each.
    case file(paths: [String])
    /// Synthetic records: `splits` independent streams, `rate` records/s in all (nil: as fast as possible),
    /// `count` records in all (nil: endless).
    case generator(splits: Int, rate: Double?, count: Int?, settings: Settings)
    /// A connector outside the core (Kafka), made by the code that runs the job with it.
    case external(any ExternalSource)

    public var summary: String {
        switch self {
        case .file(let paths): "file \(paths.joined(separator: ", "))"
        case .generator(let splits, let rate, let count, _):
            "generator, \(splits) split(s), rate \(rate.map { "\(Int($0))/s" } ?? "unlimited"), "
                + "count \(count.map(String.init) ?? "endless")"
        case .external(let source): source.summary
        }
    }

    /// What decides which records the source reads, recorded in checkpoints: restoring positions into another
    /// input would silently mix two inputs. The rate and the count may change between runs.
    public var identity: String {
        switch self {
        case .file(let paths):
            "file " + paths.map { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path }
                .joined(separator: ", ")
        case .generator(let splits, _, _, let settings):
            "generator, \(splits) split(s), " + settings.root.entries
                .filter { !["rate", "count", "type"].contains($0.key) }
                .sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        case .external(let source): source.identity
        }
    }

    var splitCount: Int {
        switch self {
        case .file(let paths): paths.count
        case .generator(let splits, _, _, _): splits
        case .external(let source): source.splitCount
        }
    }
}

/// Makes one source instance's task, for the element type the job declared.
protocol SourceSpawning: Sendable {
    func makeTask(
        declaration: SourceDeclaration, binding: SourceBinding, subtask: Int, parallelism: Int, bounded: Bool,
        head: AnyObject, rejected: (any SidePort)?, trigger: BarrierTrigger?, environment: TaskEnvironment
    ) throws -> any RunnableTask
}

/// A task that runs to completion.
protocol RunnableTask {
    func run() async throws
}

struct SourceSpawner<Element: Sendable>: SourceSpawning {
    typealias Make = @Sendable (
        SourceDeclaration, SourceBinding, Int, Int, Bool, AnyObject, (any SidePort)?, BarrierTrigger?, TaskEnvironment
    ) throws -> any RunnableTask

    let events: EventSource<Element>
    /// ``build`` as a closure formed in `init`, where the DSL knows the element type, so that building the readers
    /// is specialized. The source task it returns still runs generic (it is reached through `RunnableTask`): its
    /// per-record work is ``EventSource/appendDecoded``, which is specialized.
    private let make: Make

    init(_ events: EventSource<Element>) {
        self.events = events
        make = { declaration, binding, subtask, parallelism, bounded, head, rejected, trigger, environment in
            try Self.build(
                events: events, declaration: declaration, binding: binding, subtask: subtask,
                parallelism: parallelism, bounded: bounded, head: head, rejected: rejected, trigger: trigger,
                environment: environment)
        }
    }

    func makeTask(
        declaration: SourceDeclaration, binding: SourceBinding, subtask: Int, parallelism: Int, bounded: Bool,
        head: AnyObject, rejected: (any SidePort)?, trigger: BarrierTrigger?, environment: TaskEnvironment
    ) throws -> any RunnableTask {
        try make(declaration, binding, subtask, parallelism, bounded, head, rejected, trigger, environment)
    }

    private static func build(
        events: EventSource<Element>, declaration: SourceDeclaration, binding: SourceBinding, subtask: Int,
        parallelism: Int, bounded: Bool, head: AnyObject, rejected: (any SidePort)?, trigger: BarrierTrigger?,
        environment: TaskEnvironment
    ) throws -> any RunnableTask {
        // Splits are dealt round robin: split i belongs to instance i % parallelism.
        let mine = (0..<binding.splitCount).filter { $0 % parallelism == subtask }
        var readers: [any SplitReader<Element>] = []
        switch binding {
        case .file(let paths):
            for i in mine {
                readers.append(try FileSplitReader(path: paths[i], sourceName: declaration.name, source: events,
                                                   bounded: bounded))
            }
        case .generator(let splits, let rate, let count, let settings):
            guard let makeGenerator = events.makeGenerator else {
                throw ConnectorError("source '\(declaration.name)': \(events.formatName) records have no generator")
            }
            for i in mine {
                let generator = try makeGenerator(GeneratorOptions(settings: settings, split: i, splits: splits))
                let share = count.map { $0 / splits + (i < $0 % splits ? 1 : 0) }
                readers.append(GeneratorSplitReader(
                    splitID: "generator:\(i)", generator: generator, limit: share, rate: rate.map { $0 / Double(splits) }))
            }
        case .external(let source):
            for feed in try source.makeFeeds(splits: mine, sourceName: declaration.name, bounded: bounded) {
                readers.append(FeedSplitReader(feed: feed, sourceName: declaration.name, source: events))
            }
        }
        guard let typedHead = head as? Downstream<Element> else {
            preconditionFailure("source '\(declaration.name)' wired to a \(type(of: head))")
        }
        return try SourceTask(
            name: declaration.name, nodeName: declaration.nodeName, readers: readers, strategy: declaration.watermarks,
            bounded: bounded, head: typedHead, rejected: rejected, trigger: trigger, environment: environment)
    }
}
