import Foundation
import PruneTensor

/// One output a command is about to write.
public struct OutputRequest: Sendable {
    public enum Kind: Sendable, Equatable {
        /// A folder written whole by ``AtomicDirectoryWriter``.
        case directory
        /// One file of a format PruneKit marks as its own.
        case file(OutputFileFormat)
    }
    /// The flag the path came from, for messages (`--out`).
    public var flag: String
    public var path: String
    public var kind: Kind
    /// A file this run continues (a resume checkpoint): an existing PruneKit file is taken over without
    /// `--overwrite`.
    public var continues: Bool

    public init(flag: String, path: String, kind: Kind, continues: Bool = false) {
        self.flag = flag
        self.path = path
        self.kind = kind
        self.continues = continues
    }
}

/// One path a command reads.
public struct InputPath: Sendable {
    public var flag: String
    public var path: String
    public init(flag: String, path: String) {
        self.flag = flag
        self.path = path
    }
}

/// The places no command may write: the root, the home directory and the working directory (and every
/// folder holding one of them).
public struct ProtectedPlaces: Sendable {
    public var workingDirectory: ResolvedPath
    public var home: ResolvedPath?

    /// The process's working directory and `$HOME` (or the password database's home).
    public static var current: ProtectedPlaces {
        let cwd = ResolvedPath(FileManager.default.currentDirectoryPath) ?? ResolvedPath(components: [])
        let homePath = ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return ProtectedPlaces(workingDirectory: cwd, home: ResolvedPath(homePath))
    }

    public init(workingDirectory: ResolvedPath, home: ResolvedPath?) {
        self.workingDirectory = workingDirectory
        self.home = home
    }
}

/// The one output-safety rule every command that writes applies before any work starts.
///
/// 1. Every output and input is resolved (``ResolvedPath``: working directory, symbolic links, `..`).
/// 2. An output is refused when it is empty, the root, the home directory, the working directory or a folder
///    holding one of them; when it is an input, lies inside an input folder or contains an input; or when it
///    overlaps another output of the same command.
/// 3. Each output is locked (``OutputLock``) so a second concurrent writer fails at once, and the first
///    one's result stays intact.
/// 4. An existing output needs `--overwrite`, and even then only a PruneKit output (``OutputMarker``) of the
///    requested kind is replaced; anything else is refused with what it holds.
/// 5. Temporaries of the same output left by a killed run (`.<name>.tmp-*`, and `.<name>.old-*` beside a
///    complete output) are removed and reported.
///
/// Writers then create the output under a temporary name and rename it into place (registered with
/// ``TemporaryOutputs`` so an interrupt removes it; see ``OutputInterrupts``).
public enum OutputGuard {
    /// Applies rules 1–2 only: no file is created or locked. For validating flags early.
    public static func check(
        _ outputs: [OutputRequest], inputs: [InputPath], places: ProtectedPlaces = .current
    ) throws(OutputSafetyError) {
        _ = try resolveAll(outputs, inputs: inputs, places: places)
    }

    /// Applies the whole rule and returns the claim, which holds the locks until ``OutputClaim/release()``.
    /// - Parameter overwrite: whether existing PruneKit outputs may be replaced.
    public static func claim(
        _ outputs: [OutputRequest], inputs: [InputPath], overwrite: Bool, places: ProtectedPlaces = .current
    ) throws(OutputSafetyError) -> OutputClaim {
        let resolved = try resolveAll(outputs, inputs: inputs, places: places)
        let claim = OutputClaim()
        do {
            for (request, path) in zip(outputs, resolved) {
                do { try FileManager.default.createDirectory(atPath: path.parent.path, withIntermediateDirectories: true) } catch {
                    throw OutputSafetyError.io(
                        flag: request.flag, path: path.path, operation: "creating its folder", reason: Self.reason(error))
                }
                do { claim.locks.append(try OutputLock.acquire(for: path)) } catch {
                    switch error {
                    case .held(_, let holder): throw OutputSafetyError.busy(flag: request.flag, path: path.path, holder: holder)
                    case .io(let lockPath, let reason):
                        throw OutputSafetyError.io(flag: request.flag, path: path.path, operation: "locking \(lockPath)", reason: reason)
                    }
                }
                try checkExisting(request, at: path, overwrite: overwrite)
                claim.notes += removeStaleTemporaries(of: path)
            }
        } catch let error as OutputSafetyError {
            claim.release()
            throw error
        } catch {
            claim.release()
            throw .io(flag: outputs.first?.flag ?? "output", path: "", operation: "claiming", reason: "\(error)")
        }
        return claim
    }

    /// Rules 1–2: resolves every path and refuses what overlaps.
    static func resolveAll(
        _ outputs: [OutputRequest], inputs: [InputPath], places: ProtectedPlaces
    ) throws(OutputSafetyError) -> [ResolvedPath] {
        var resolvedOutputs: [ResolvedPath] = []
        for output in outputs {
            guard let path = ResolvedPath(output.path, workingDirectory: places.workingDirectory.path) else {
                throw .empty(flag: output.flag)
            }
            if path.components.isEmpty { throw .protected(flag: output.flag, path: output.path, what: "the root directory") }
            if let home = places.home {
                if path == home { throw .protected(flag: output.flag, path: output.path, what: "your home directory") }
                if home.isWithin(path) {
                    throw .protected(flag: output.flag, path: output.path, what: "a folder that contains your home directory")
                }
            }
            if path == places.workingDirectory { throw .protected(flag: output.flag, path: output.path, what: "the working directory") }
            if places.workingDirectory.isWithin(path) {
                throw .protected(flag: output.flag, path: output.path, what: "a folder that contains the working directory")
            }
            for input in inputs {
                guard let inputPath = ResolvedPath(input.path, workingDirectory: places.workingDirectory.path) else { continue }
                if let overlap = overlap(of: path, with: inputPath) {
                    throw .overlapsInput(flag: output.flag, path: output.path, overlap: overlap, inputFlag: input.flag, inputPath: input.path)
                }
            }
            for (other, otherPath) in zip(outputs, resolvedOutputs) {
                if let overlap = overlap(of: path, with: otherPath) {
                    throw .overlapsOutput(flag: output.flag, path: output.path, overlap: overlap, otherFlag: other.flag, otherPath: other.path)
                }
            }
            resolvedOutputs.append(path)
        }
        return resolvedOutputs
    }

    /// How `path` overlaps `other`, also when both exist as hard links to the same file.
    static func overlap(of path: ResolvedPath, with other: ResolvedPath) -> OutputSafetyError.Overlap? {
        if path == other { return .same }
        if path.isWithin(other) { return .inside }
        if other.isWithin(path) { return .contains }
        var a = stat()
        var b = stat()
        if stat(path.path, &a) == 0, stat(other.path, &b) == 0, a.st_dev == b.st_dev, a.st_ino == b.st_ino { return .same }
        return nil
    }

    /// Rule 4 for one locked output.
    static func checkExisting(_ request: OutputRequest, at path: ResolvedPath, overwrite: Bool) throws(OutputSafetyError) {
        var status = stat()
        guard lstat(path.path, &status) == 0 else { return }
        let type = status.st_mode & S_IFMT
        switch request.kind {
        case .directory:
            guard type == S_IFDIR else {
                throw .notPruneKitOutput(flag: request.flag, path: path.path, holds: "it is \(describe(type)), not a folder")
            }
            guard OutputMarker.isPruneKitDirectory(path.path) else {
                throw .notPruneKitOutput(flag: request.flag, path: path.path, holds: "it holds \(listing(of: path.path))")
            }
            guard overwrite else { throw .exists(flag: request.flag, path: path.path) }
        case .file(let format):
            guard type == S_IFREG else {
                throw .notPruneKitOutput(flag: request.flag, path: path.path, holds: "it is \(describe(type)), not a regular file")
            }
            guard OutputMarker.isPruneKitFile(path.path, format: format) else {
                throw .notPruneKitOutput(
                    flag: request.flag, path: path.path,
                    holds: "a \(status.st_size)-byte file without PruneKit's \(format.rawValue) marker")
            }
            guard overwrite || request.continues else { throw .exists(flag: request.flag, path: path.path) }
        }
    }

    /// Rule 5: removes `.<name>.tmp-*` (and `.<name>.old-*` when the output itself is complete) beside
    /// `path`; the caller holds the output's lock, so no live writer owns them.
    static func removeStaleTemporaries(of path: ResolvedPath) -> [String] {
        let folder = path.parent.path
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        let temporary = TemporaryOutputs.prefix(forOutputNamed: path.name)
        let aside = "." + path.name + ".old-"
        let outputExists = FileManager.default.fileExists(atPath: path.path)
        var notes: [String] = []
        for entry in entries.sorted() {
            let full = (folder == "/" ? "" : folder) + "/" + entry
            if entry.hasPrefix(temporary) || (entry.hasPrefix(aside) && outputExists) {
                if (try? FileManager.default.removeItem(atPath: full)) != nil {
                    notes.append("removed \(full), left behind by an interrupted run")
                } else {
                    notes.append("could not remove \(full), left behind by an interrupted run")
                }
            } else if entry.hasPrefix(aside) {
                notes.append("\(full) is the previous \(path.name), set aside by a run that was killed while replacing it; rename it back if you need it")
            }
        }
        return notes
    }

    private static func describe(_ type: mode_t) -> String {
        switch type {
        case S_IFDIR: "a folder"
        case S_IFREG: "a regular file"
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        default: "not a regular file"
        }
    }

    /// "a, b, c and 4 more" for a folder's entries.
    private static func listing(of folder: String) -> String {
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        if entries.isEmpty { return "nothing, but it has no PruneKit marker" }
        let shown = entries.prefix(4).joined(separator: ", ")
        return entries.count > 4 ? "\(shown) and \(entries.count - 4) more" : shown
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? CocoaError, let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return (error as NSError).localizedDescription
    }
}

/// The outputs a command has claimed: their locks, and notes about stale temporaries that were removed.
public final class OutputClaim: @unchecked Sendable {
    var locks: [OutputLock] = []
    /// Lines to show the user (stale temporaries removed or found).
    public internal(set) var notes: [String] = []

    init() {}

    /// Drops every lock (and removes the lock files).
    public func release() {
        for lock in locks { lock.release() }
        locks = []
    }

    deinit { release() }
}
