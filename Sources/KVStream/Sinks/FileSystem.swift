import Foundation

/// Small POSIX file helpers whose errors read well in one line (`Not a directory`, not a Cocoa error code).
public enum FileSystem {
    /// The text of `errno`.
    public static func lastError() -> String { String(cString: strerror(errno)) }

    /// `mkdir -p`.
    public static func makeDirectories(_ path: String) throws(ConnectorError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw ConnectorError("cannot create directory \(current): \(lastError())")
            }
            var st = stat()
            if stat(current, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
                throw ConnectorError("cannot create directory \(current): a file of that name is in the way")
            }
        }
    }

    /// Writes `bytes` to `path` so that readers see the old file or the whole new one: a temporary file in the
    /// same directory, fsync, rename, fsync of the directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(ConnectorError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ConnectorError("cannot create \(temporary): \(lastError())") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let message = lastError()
                close(fd)
                throw ConnectorError("cannot write \(temporary): \(message)")
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            let message = lastError()
            close(fd)
            throw ConnectorError("cannot sync \(temporary): \(message)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw ConnectorError("cannot rename \(temporary): \(lastError())") }
        syncDirectory(of: path)
    }

    /// Makes a rename or a new file in a directory durable.
    public static func syncDirectory(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Renames `from` to `to` unless that was done already: idempotent, so a commit can be replayed.
    public static func renameIdempotent(from: String, to: String) throws(ConnectorError) {
        if access(from, F_OK) != 0 {
            guard access(to, F_OK) == 0 else {
                throw ConnectorError("cannot commit \(to): neither it nor its staged file \(from) exists")
            }
            return
        }
        guard rename(from, to) == 0 else { throw ConnectorError("cannot commit \(from) to \(to): \(lastError())") }
        syncDirectory(of: to)
    }
}
