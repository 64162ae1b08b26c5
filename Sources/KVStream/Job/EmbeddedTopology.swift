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
type = "generator"              # or "file" (path)
rate = 5000                     # events per second, 0 for as fast as possible
seed = 42
customers = 10000

# Until the PostgreSQL and lake connectors land, both sinks write JSON lines (out/<table>/part-<n>-<checkpoint>.jsonl).
[sinks.postgres]
type = "jsonl"
path = "out"

[sinks.lake]
type = "jsonl"
path = "out"
"""#
}
