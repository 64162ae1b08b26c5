import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM into a request to stop the job cleanly; a second signal exits at once.
///
/// - Important: installed from a nonisolated function, so the handlers are not main-actor closures: Dispatch
///   calls them on its own queue.
public enum SignalHandling {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// - Parameter quiet: no note on standard error (for commands that only wait, like `kvstream broker`).
    public static func install(stop: StopSignal, quiet: Bool = false) {
        for signo in [SIGINT, SIGTERM] {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler { @Sendable in
                if stop.isRequested { exit(128 + signo) }
                stop.request()
                if quiet { return }
                let note = "\nstopping: finishing in-flight records (press Ctrl-C again to exit at once)\n"
                FileHandle.standardError.write(Data(note.utf8))
            }
            source.resume()
            sources.append(source)
        }
    }
}
