import Foundation

/// The temporary files and folders that outputs are being written into right now, process-wide.
///
/// Every writer that builds an output under a temporary name and renames it into place (safetensors
/// files, PNGs, JSON files, export and report folders) registers the temporary here for as long as it
/// exists, so that an interrupt handler can remove whatever is half-written before the process exits
/// (see `OutputInterrupts` in PruneKit). The registry only records paths; it never deletes on its own.
public enum TemporaryOutputs {
    /// One registered temporary.
    public struct Entry: Sendable {
        /// The temporary file or folder.
        public var path: String
        /// For an existing output moved aside while its replacement is renamed in: where it belongs, so an
        /// interrupt puts it back instead of deleting it.
        public var restoresTo: String?
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: [Int: Entry] = [:]
    nonisolated(unsafe) private static var nextToken = 0

    /// Records `path` as a temporary in progress; pass the returned token to ``unregister(_:)`` once the
    /// temporary was renamed into place or removed. `restoresTo` marks an output set aside (see ``Entry``).
    public static func register(_ path: String, restoresTo: String? = nil) -> Int {
        lock.lock()
        defer { lock.unlock() }
        nextToken += 1
        paths[nextToken] = Entry(path: path, restoresTo: restoresTo)
        return nextToken
    }

    /// Forgets the temporary registered under `token`.
    public static func unregister(_ token: Int) {
        lock.lock()
        defer { lock.unlock() }
        paths[token] = nil
    }

    /// The temporaries in progress, oldest first.
    public static var entries: [Entry] {
        lock.lock()
        defer { lock.unlock() }
        return paths.sorted { $0.key < $1.key }.map(\.value)
    }

    /// The name prefix of a temporary for the output named `name`: `.<name>.tmp-`. Writers name their
    /// temporaries `<prefix><random token>` in the output's own directory, so a later run that writes the
    /// same output can recognise one left behind by a killed process.
    public static func prefix(forOutputNamed name: String) -> String { "." + name + ".tmp-" }

    /// A fresh temporary path beside `path`: `<directory>/.<name>.tmp-<random>`.
    public static func path(beside path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        return directory + "/" + prefix(forOutputNamed: url.lastPathComponent) + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }
}

/// Renames that refuse to replace an existing destination.
public enum ExclusiveRename {
    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32

    /// glibc's `renameat2`, looked up at run time (Swift's Glibc module does not import it).
    private static let renameat2: RenameAt2? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: RenameAt2.self)
    }()

    /// Renames `source` to `destination` only if `destination` does not exist, atomically where the kernel
    /// and file system support `RENAME_NOREPLACE` (Linux ≥ 3.15 on ext4, xfs, btrfs, tmpfs, …); elsewhere it
    /// checks first and renames (callers hold an output lock, so no other PruneKit process races them).
    /// - Returns: 0 on success, otherwise an `errno` value (`EEXIST` when the destination exists).
    public static func rename(_ source: String, to destination: String) -> Int32 {
        let noReplace: UInt32 = 1  // RENAME_NOREPLACE
        if let renameat2 {
            if renameat2(AT_FDCWD, source, AT_FDCWD, destination, noReplace) == 0 { return 0 }
            let failure = errno
            guard failure == EINVAL || failure == ENOSYS else { return failure }
        }
        var status = stat()
        if lstat(destination, &status) == 0 { return EEXIST }
        return Glibc.rename(source, destination) == 0 ? 0 : errno
    }
}
