import Foundation

/// Creates a directory all at once: its files are written into a hidden sibling, which is renamed into
/// place only when every file is complete. On any error the sibling is removed and the destination is
/// untouched; a reader never sees a half-written directory.
public enum AtomicDirectoryWriter {
    /// Runs `fill` on a fresh temporary directory next to `destination`, then renames it to `destination`.
    ///
    /// - Parameters:
    ///   - destination: the directory to create; its parent is created if needed.
    ///   - replacing: when `destination` exists: `false` throws, `true` swaps the new directory in (the old
    ///     one is moved aside first and deleted after the rename, or moved back if the rename fails).
    ///   - fill: writes the files into the directory it is given.
    /// - Throws: ``ExportError/destinationExists(path:)``, ``ExportError/io(path:operation:reason:)``, or what
    ///   `fill` throws.
    public static func write(to destination: String, replacing: Bool = false, _ fill: (String) throws -> Void) throws {
        let manager = FileManager.default
        let url = URL(fileURLWithPath: destination).standardizedFileURL
        let parent = url.deletingLastPathComponent()
        let name = url.lastPathComponent
        if manager.fileExists(atPath: url.path) && !replacing { throw ExportError.destinationExists(path: url.path) }
        do { try manager.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw ExportError.io(path: parent.path, operation: "create directory", reason: error.localizedDescription)
        }
        let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let temporary = parent.appendingPathComponent(".\(name).tmp-\(token)")
        do { try manager.createDirectory(at: temporary, withIntermediateDirectories: false) } catch {
            throw ExportError.io(path: temporary.path, operation: "create directory", reason: error.localizedDescription)
        }
        var installed = false
        defer { if !installed { try? manager.removeItem(at: temporary) } }
        try fill(temporary.path)

        var aside: URL?
        if manager.fileExists(atPath: url.path) {
            let old = parent.appendingPathComponent(".\(name).old-\(token)")
            guard rename(url.path, old.path) == 0 else {
                throw ExportError.io(path: url.path, operation: "move aside", reason: String(cString: strerror(errno)))
            }
            aside = old
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            if let aside { _ = rename(aside.path, url.path) }
            throw ExportError.io(path: url.path, operation: "rename into place", reason: reason)
        }
        installed = true
        if let aside { try? manager.removeItem(at: aside) }
        let descriptor = open(parent.path, O_RDONLY)
        if descriptor >= 0 {
            _ = fsync(descriptor)
            close(descriptor)
        }
    }
}
