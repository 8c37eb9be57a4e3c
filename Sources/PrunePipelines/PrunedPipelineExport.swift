import Foundation
import PruneKit

/// A pruned pipeline folder: the source pipeline with its denoiser replaced by the pruned one.
///
/// Every component other than the denoiser (`unet/` or `transformer/`) is hard-linked from the source pipeline
/// (copied where the file system cannot link), `model_index.json` is copied, the pruned denoiser is written in
/// place by `exportDenoiser`, and its `prunekit.json` is repeated at the top so tools recognise the folder as a
/// PruneKit export. The folder appears at once (``AtomicDirectoryWriter``); PruneKit and diffusers' loaders see
/// an ordinary pipeline folder whose denoiser is the pruned one.
public enum PrunedPipelineExport {
    /// Writes the pruned pipeline to `destination`.
    /// - Parameters:
    ///   - source: the pipeline the denoiser was pruned from.
    ///   - exportDenoiser: writes the pruned denoiser into the folder it is given (which must not exist yet).
    /// - Throws: ``ExportError`` for file-system failures, or what `exportDenoiser` throws.
    @discardableResult
    public static func write(
        source: PipelineFolder, to destination: String, replacing: Bool, exportDenoiser: (String) throws -> ExportManifest
    ) throws -> ExportManifest {
        var manifest: ExportManifest?
        try AtomicDirectoryWriter.write(to: destination, replacing: replacing, kind: "pipeline-export") { root in
            let rootURL = URL(fileURLWithPath: root)
            let sourceURL = URL(fileURLWithPath: source.path)
            let denoiser = source.family.denoiser
            for name in source.components.keys.sorted() where name != denoiser {
                try linkTree(from: sourceURL.appendingPathComponent(name), to: rootURL.appendingPathComponent(name))
            }
            try copyFile(
                from: sourceURL.appendingPathComponent(PipelineFolder.indexFileName), to: rootURL.appendingPathComponent(PipelineFolder.indexFileName))
            let written = try exportDenoiser(rootURL.appendingPathComponent(denoiser).path)
            try copyFile(
                from: rootURL.appendingPathComponent(denoiser).appendingPathComponent(OutputMarker.manifestName),
                to: rootURL.appendingPathComponent(OutputMarker.manifestName))
            manifest = written
        }
        return manifest!
    }

    /// Recreates the folder `source` at `target`, hard-linking regular files (copying when linking fails).
    static func linkTree(from source: URL, to target: URL) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: source.path, isDirectory: &isDirectory) else {
            throw ExportError.unreadableSource(path: source.path, reason: "component folder not found")
        }
        guard isDirectory.boolValue else { return try copyFile(from: source, to: target) }
        do { try manager.createDirectory(at: target, withIntermediateDirectories: true) } catch {
            throw ExportError.io(path: target.path, operation: "create directory", reason: error.localizedDescription)
        }
        let entries: [String]
        do { entries = try manager.contentsOfDirectory(atPath: source.path) } catch {
            throw ExportError.unreadableSource(path: source.path, reason: error.localizedDescription)
        }
        for entry in entries.sorted() {
            try linkTree(from: source.appendingPathComponent(entry), to: target.appendingPathComponent(entry))
        }
    }

    /// Hard-links `source` to `target`, or copies it where links are not possible (another file system).
    static func copyFile(from source: URL, to target: URL) throws {
        if link(source.path, target.path) == 0 { return }
        do { try FileManager.default.copyItem(at: source, to: target) } catch {
            throw ExportError.io(path: target.path, operation: "copy \(source.path) to", reason: error.localizedDescription)
        }
    }
}
