import Foundation

/// An exclusive, advisory lock on one output path, held by this process while it writes that output.
///
/// The lock is `flock(LOCK_EX | LOCK_NB)` on `.<name>.lock` beside the output. The kernel drops it when the
/// holder exits for any reason (SIGKILL included), so a crashed run never blocks the next one. Releasing
/// unlinks the lock file while still holding it; an acquirer that locked a file which was unlinked meanwhile
/// sees that its descriptor no longer matches the path and tries again.
public final class OutputLock: @unchecked Sendable {
    /// The lock file.
    public let path: String
    private var descriptor: Int32

    /// The lock file for an output: `.<name>.lock` in the output's folder.
    public static func lockPath(for output: ResolvedPath) -> String {
        output.parent.path.replacingOccurrences(of: "//", with: "/") + (output.parent.components.isEmpty ? "" : "/") + "." + output.name + ".lock"
    }

    /// Why a lock could not be taken.
    public enum Failure: Error {
        /// Another process holds it; its pid as it wrote it into the file, if readable.
        case held(lockPath: String, holder: String?)
        case io(lockPath: String, reason: String)
    }

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
        HeldOutputLocks.add(path)
    }

    /// Takes the lock for `output` without waiting. The output's folder must exist.
    public static func acquire(for output: ResolvedPath) throws(Failure) -> OutputLock {
        let path = lockPath(for: output)
        for _ in 0..<16 {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .io(lockPath: path, reason: String(cString: strerror(errno))) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let failure = errno
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                close(fd)
                if failure == EWOULDBLOCK { throw .held(lockPath: path, holder: holder.flatMap { $0.isEmpty ? nil : $0 }) }
                throw .io(lockPath: path, reason: String(cString: strerror(failure)))
            }
            // The previous holder may have unlinked the file between our open and flock: lock the file that is there now.
            var opened = stat()
            var current = stat()
            guard fstat(fd, &opened) == 0, stat(path, &current) == 0, opened.st_ino == current.st_ino, opened.st_dev == current.st_dev else {
                close(fd)
                continue
            }
            let pid = "\(getpid())\n"
            _ = ftruncate(fd, 0)
            _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
            return OutputLock(path: path, descriptor: fd)
        }
        throw .io(lockPath: path, reason: "the lock file kept being replaced by other processes")
    }

    /// Removes the lock file and drops the lock. Safe to call more than once.
    public func release() {
        guard descriptor >= 0 else { return }
        unlink(path)
        close(descriptor)
        descriptor = -1
        HeldOutputLocks.remove(path)
    }

    deinit { release() }
}

/// The lock files this process holds, so an interrupt can remove them before exiting.
enum HeldOutputLocks {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: [String: Int] = [:]

    static func add(_ path: String) {
        lock.lock()
        paths[path, default: 0] += 1
        lock.unlock()
    }

    static func remove(_ path: String) {
        lock.lock()
        if let count = paths[path] { paths[path] = count > 1 ? count - 1 : nil }
        lock.unlock()
    }

    static var current: [String] {
        lock.lock()
        defer { lock.unlock() }
        return Array(paths.keys)
    }
}
