import Foundation
import Synchronization

/// Crash points for tests of exactly-once recovery: `KVSTREAM_FAULT=<point>:<n>` ends the process, as SIGKILL
/// would (no cleanup, exit 137), the n-th time execution reaches `point`. Unset, it costs one comparison.
///
/// Points: `after-metadata` (a checkpoint's metadata is durable, its commits not run yet), `mid-commit` (after the
/// first commit action of a checkpoint), `after-snapshot` (a task's snapshot is taken, not acknowledged).
enum FaultInjection {
    private static let target: (point: String, hit: Int)? = {
        guard let spec = ProcessInfo.processInfo.environment["KVSTREAM_FAULT"] else { return nil }
        let parts = spec.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[1]), n > 0 else { return nil }
        return (String(parts[0]), n)
    }()
    private static let hits = Mutex<Int>(0)

    static func point(_ name: String) {
        guard let target, target.point == name else { return }
        let hit = hits.withLock { count -> Int in
            count += 1
            return count
        }
        if hit == target.hit {
            FileHandle.standardError.write(Data("kvstream: fault injected at \(name) (hit \(hit))\n".utf8))
            _exit(137)
        }
    }
}
