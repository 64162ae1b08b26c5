/// The compiled-in copy of `topology/local.toml` (a test keeps the two identical).
public enum EmbeddedTopology {
    public static let local = #"""
# The embedded defaults: `kvstream run <job>` with no --topology uses this file (or its compiled-in copy).
# Every key can be overridden with --set section.key=value. SPEC section 6 lists the keys.

[job]
parallelism = 2
max_parallelism = 128

[checkpoint]
interval = "10s"
dir = "state/checkpoints"       # <dir>/<job>/chk-<id>
retained = 3

[state]
backend = "rocksdb"             # or "memory"
dir = "state/rocksdb"           # the running tasks' RocksDB instances
cache_mb = 256                  # RocksDB block cache
cache_entries = 1000000         # entries per state kept in memory in front of RocksDB

[sources.payments]
type = "generator"              # or "kafka" (bootstrap, topic, group) or "file" (path)
rate = 2000                     # events per second (event time moves like the clock), 0 for as fast as possible
seed = 42
customers = 2000000             # about one payment per customer every 17 minutes: the fraud rules stay quiet on normal traffic
fraud_ratio = 0.002             # share of injected fraud payments (and as many decoy episodes), see docs/fraud-detection.md

[sinks.postgres]
type = "postgres"
url = "postgresql://postgres@127.0.0.1:5432/kvstream"   # the password comes from KVSTREAM_PG_PASSWORD or password_file

[sinks.lake]
type = "lake"
path = "lake"                   # or s3://bucket/prefix with endpoint settings; customer ids pseudonymised with KVSTREAM_PII_KEY
"""#
}
