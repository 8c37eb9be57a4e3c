import Foundation
import PruneTensor

/// Creates a directory all at once: its files are written into a hidden sibling, which is renamed into
/// place only when every file is complete. On any error the sibling is removed and the destination is
/// untouched; a reader never sees a half-written directory.
///
/// Every directory it creates holds the marker ``OutputMarker/directoryMarker``, and it replaces only a
/// directory that carries a PruneKit marker, so nothing PruneKit did not write is ever deleted. The
/// temporary (and an output moved aside while it is replaced) is registered with ``TemporaryOutputs`` so
/// an interrupt removes it (``OutputInterrupts``).
public enum AtomicDirectoryWriter {
    /// Runs `fill` on a fresh temporary directory next to `destination`, then renames it to `destination`.
    ///
    /// - Parameters:
    ///   - destination: the directory to create; its parent is created if needed.
    ///   - replacing: when `destination` exists: `false` throws, `true` swaps the new directory in if the old
    ///     one is a PruneKit output (it is moved aside first and deleted after the rename, or moved back if
    ///     the rename fails).
    ///   - kind: what the directory is ("export", "report", "demo-model"), recorded in its marker.
    ///   - fill: writes the files into the directory it is given.
    /// - Throws: ``ExportError/destinationExists(path:)``, ``ExportError/notPruneKitOutput(path:)``,
    ///   ``ExportError/io(path:operation:reason:)``, or what `fill` throws.
    public static func write(
        to destination: String, replacing: Bool = false, kind: String = "output", _ fill: (String) throws -> Void
    ) throws {
        let manager = FileManager.default
        let url = URL(fileURLWithPath: destination).standardizedFileURL
        let parent = url.deletingLastPathComponent()
        let name = url.lastPathComponent
        try checkReplaceable(url.path, replacing: replacing)
        do { try manager.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw ExportError.io(path: parent.path, operation: "create directory", reason: error.localizedDescription)
        }
        let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let temporary = parent.appendingPathComponent(TemporaryOutputs.prefix(forOutputNamed: name) + token)
        let registration = TemporaryOutputs.register(temporary.path)
        defer { TemporaryOutputs.unregister(registration) }
        do { try manager.createDirectory(at: temporary, withIntermediateDirectories: false) } catch {
            throw ExportError.io(path: temporary.path, operation: "create directory", reason: error.localizedDescription)
        }
        var installed = false
        defer { if !installed { try? manager.removeItem(at: temporary) } }
        let marker = temporary.appendingPathComponent(OutputMarker.directoryMarker).path
        do { try AtomicFileWriter.write(OutputMarker.directoryMarkerContents(kind: kind), to: marker) } catch {
            throw ExportError.io(path: marker, operation: "write", reason: error.reason)
        }
        try fill(temporary.path)

        // Checked again: the destination may have appeared while `fill` ran.
        try checkReplaceable(url.path, replacing: replacing)
        var aside: URL?
        var asideRegistration: Int?
        defer { if let asideRegistration { TemporaryOutputs.unregister(asideRegistration) } }
        if manager.fileExists(atPath: url.path) {
            let old = parent.appendingPathComponent(".\(name).old-\(token)")
            asideRegistration = TemporaryOutputs.register(old.path, restoresTo: url.path)
            guard rename(url.path, old.path) == 0 else {
                throw ExportError.io(path: url.path, operation: "move aside", reason: String(cString: strerror(errno)))
            }
            aside = old
        }
        let failure = ExclusiveRename.rename(temporary.path, to: url.path)
        guard failure == 0 else {
            if let aside { _ = rename(aside.path, url.path) }
            if failure == EEXIST { throw ExportError.destinationExists(path: url.path) }
            throw ExportError.io(path: url.path, operation: "rename into place", reason: String(cString: strerror(failure)))
        }
        installed = true
        if let aside { try? manager.removeItem(at: aside) }
        let descriptor = open(parent.path, O_RDONLY)
        if descriptor >= 0 {
            _ = fsync(descriptor)
            close(descriptor)
        }
    }

    /// Throws unless `path` is absent, or replaceable: `replacing` and a directory PruneKit wrote.
    private static func checkReplaceable(_ path: String, replacing: Bool) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard replacing else { throw ExportError.destinationExists(path: path) }
        guard status.st_mode & S_IFMT == S_IFDIR, OutputMarker.isPruneKitDirectory(path) else {
            throw ExportError.notPruneKitOutput(path: path)
        }
    }
}
