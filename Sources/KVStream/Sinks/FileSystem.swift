import Foundation

/// Small POSIX file helpers whose errors read well in one line (`Not a directory`, not a Cocoa error code).
enum FileSystem {
    /// The text of `errno`.
    static func lastError() -> String { String(cString: strerror(errno)) }

    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws(ConnectorError) {
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
}
