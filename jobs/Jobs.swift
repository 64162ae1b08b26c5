import KVStream

/// Every job the `kvstream` executable can run, by name.
public let allJobs: [JobDefinition] = [fraudDetection, realtimeAggregations]

/// The job named `name`, if there is one.
public func job(named name: String) -> JobDefinition? { allJobs.first { $0.name == name } }
