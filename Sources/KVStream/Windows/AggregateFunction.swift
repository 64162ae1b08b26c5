/// Incremental aggregation: a window keeps one accumulator per key instead of its records.
public protocol AggregateFunction<Input, Accumulator, Output>: Sendable {
    associatedtype Input
    associatedtype Accumulator
    associatedtype Output

    func createAccumulator() -> Accumulator
    func add(_ value: Input, to accumulator: inout Accumulator)
    func result(_ accumulator: Accumulator) -> Output
    /// Combines two accumulators; needed by merging (session) windows.
    func merge(_ a: Accumulator, _ b: Accumulator) -> Accumulator
}

/// An ``AggregateFunction`` that folds records with a binary function (`reduce`).
public struct ReduceAggregate<T>: AggregateFunction {
    public let combine: @Sendable (T, T) -> T

    public init(_ combine: @escaping @Sendable (T, T) -> T) { self.combine = combine }

    public func createAccumulator() -> T? { nil }

    public func add(_ value: T, to accumulator: inout T?) {
        accumulator = accumulator.map { combine($0, value) } ?? value
    }

    public func result(_ accumulator: T?) -> T {
        guard let accumulator else { preconditionFailure("a window fires only when it holds a record") }
        return accumulator
    }

    public func merge(_ a: T?, _ b: T?) -> T? {
        switch (a, b) {
        case let (a?, b?): combine(a, b)
        case let (a?, nil): a
        case let (nil, b): b
        }
    }
}

/// An ``AggregateFunction`` that keeps all records of a window, for full-window `process` functions.
public struct CollectAggregate<T>: AggregateFunction {
    public init() {}
    public func createAccumulator() -> [T] { [] }
    public func add(_ value: T, to accumulator: inout [T]) { accumulator.append(value) }
    public func result(_ accumulator: [T]) -> [T] { accumulator }
    public func merge(_ a: [T], _ b: [T]) -> [T] { a + b }
}
