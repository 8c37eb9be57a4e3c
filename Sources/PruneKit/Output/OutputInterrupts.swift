import Dispatch
import Foundation
import PruneTensor

/// Removes half-written outputs when the process is interrupted.
///
/// After ``install()``, SIGINT (Ctrl-C), SIGTERM and SIGHUP no longer end the process at once: a handler
/// (on a Dispatch queue, not in signal context) removes every temporary registered with
/// ``TemporaryOutputs`` — each is first renamed aside, so a writer still running cannot add to it — puts
/// back an output that was set aside for replacement, removes this process's output lock files, says what it
/// removed on standard error, and exits with status 128 + the signal number. SIGKILL cannot be caught: its
/// temporaries are removed by the next run that writes the same output (``OutputGuard``).
public enum OutputInterrupts {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
    private static let installLock = NSLock()

    /// Installs the handlers once per process; later calls do nothing.
    public static func install() {
        installLock.lock()
        defer { installLock.unlock() }
        guard sources.isEmpty else { return }
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global(qos: .userInitiated))
            source.setEventHandler { handle(signalNumber) }
            source.resume()
            sources.append(source)
        }
    }

    /// Cleans up and exits with 128 + `signalNumber`.
    static func handle(_ signalNumber: Int32) -> Never {
        let removed = cleanUp()
        let name = [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGHUP"][signalNumber] ?? "signal \(signalNumber)"
        var message = "prunekit: interrupted (\(name))"
        if !removed.isEmpty { message += "; removed the unfinished " + removed.joined(separator: ", ") }
        FileHandle.standardError.write(Data((message + "\n").utf8))
        _exit(128 + signalNumber)
    }

    /// Removes the registered temporaries (those `matching`, for tests that share the process) and, with
    /// `removingLocks`, this process's lock files; returns the temporaries removed.
    @discardableResult
    public static func cleanUp(matching filter: (String) -> Bool = { _ in true }, removingLocks: Bool = true) -> [String] {
        let manager = FileManager.default
        var removed: [String] = []
        for entry in TemporaryOutputs.entries.reversed() where filter(entry.path) {
            if let original = entry.restoresTo {
                // An output set aside to be replaced: put it back unless the replacement is already in place.
                if !manager.fileExists(atPath: original), rename(entry.path, original) == 0 { continue }
                try? manager.removeItem(atPath: entry.path)
                continue
            }
            let doomed = entry.path + "-removing"
            let target = rename(entry.path, doomed) == 0 ? doomed : entry.path
            for _ in 0..<5 {
                if (try? manager.removeItem(atPath: target)) != nil || !manager.fileExists(atPath: target) { break }
            }
            if !manager.fileExists(atPath: target) { removed.append(entry.path) }
        }
        if removingLocks { for lock in HeldOutputLocks.current { unlink(lock) } }
        return removed
    }
}
