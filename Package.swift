// swift-tools-version: 6.0
import PackageDescription

// Hot paths are generic (operators over `RecordBatch<T>`); jobs and benchmarks live in other modules, so whole
// cross-module optimization lets the compiler specialize the runtime's generics for each job's record types
// instead of running them through witness tables. Release builds only.
let crossModule: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "kvstream",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kvstream", targets: ["kvstream"]),
        .library(name: "KVStream", targets: ["KVStream"]),
    ],
    dependencies: [
        // Both are small and build in seconds; nothing heavier is needed by the core.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C libraries, found by pkg-config. Each module map wraps a one-line shim header.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CRocksDB", pkgConfig: "rocksdb", providers: [.apt(["librocksdb-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        // One header, no library: the prefetch hint of the state tables (`__builtin_prefetch`).
        .systemLibrary(name: "CPrefetch"),

        // The core: DSL, runtime, time, windows, state API. No C library (CPrefetch is a header).
        .target(
            name: "KVStream",
            dependencies: ["CPrefetch", .product(name: "Logging", package: "swift-log")],
            swiftSettings: crossModule
        ),
        // The payment event of SPEC section 2: decoding, validation, encoding and the synthetic generator.
        .target(name: "KVStreamPayments", swiftSettings: crossModule),
        // Keyed state in RocksDB, behind the core's byte-level StateStore.
        .target(name: "KVStreamRocksDB", dependencies: ["KVStream", "CRocksDB"], swiftSettings: crossModule),
        // Kafka source and sink, the scale-out runner and the development broker, over librdkafka.
        .target(name: "KVStreamKafka", dependencies: ["KVStream", "CRdKafka"], swiftSettings: crossModule),
        // The PostgreSQL sink, over libpq.
        .target(name: "KVStreamPostgres", dependencies: ["KVStream", "CLibPQ", .product(name: "Logging", package: "swift-log")],
                swiftSettings: crossModule),
        // An S3-compatible object store client (AWS Signature Version 4 over URLSession) and the SHA-256 and
        // HMAC-SHA256 it signs with, which also pseudonymise customer ids. Foundation only: no AWS SDK.
        .target(name: "KVStreamS3", dependencies: [.product(name: "Logging", package: "swift-log")],
                swiftSettings: crossModule),
        // The Parquet lake sink: a Parquet writer of our own (LZ4_RAW through liblz4), local or S3 storage.
        .target(name: "KVStreamLake", dependencies: ["KVStream", "CLZ4", "KVStreamS3"], swiftSettings: crossModule),
        // Harnesses that drive one operator or one job without the world around it.
        .target(name: "KVStreamTesting", dependencies: ["KVStream"], swiftSettings: crossModule),
        // The job topologies, one file per job.
        // `fraud-model.json` is compiled in (`PackageResources.fraud_model_json`) as the default fraud model.
        .target(name: "KVStreamJobs", dependencies: ["KVStream", "KVStreamPayments"], path: "jobs",
                resources: [.embedInCode("fraud-model.json")], swiftSettings: crossModule),
        .executableTarget(
            name: "kvstream",
            dependencies: [
                "KVStream", "KVStreamPayments", "KVStreamJobs", "KVStreamRocksDB", "KVStreamKafka", "KVStreamPostgres",
                "KVStreamLake", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: crossModule
        ),
        .executableTarget(
            name: "KVStreamBench",
            dependencies: ["KVStream", "KVStreamPayments", "KVStreamJobs", "KVStreamTesting", "KVStreamRocksDB",
                           "KVStreamKafka", "KVStreamPostgres", "CRdKafka", "KVStreamS3", "KVStreamLake"],
            path: "bench/KVStreamBench",
            swiftSettings: crossModule
        ),
        .testTarget(
            name: "KVStreamTests",
            dependencies: ["KVStream", "KVStreamPayments", "KVStreamTesting", "KVStreamJobs", "KVStreamRocksDB",
                           "KVStreamKafka", "KVStreamS3", "KVStreamLake", "KVStreamPostgres"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
