import Foundation
import PruneNN
import PruneTensor

/// Writes a physically pruned model as a diffusers model directory, for any architecture described by
/// ``UnitGroup``s.
///
/// The directory holds:
/// - `diffusion_pytorch_model.safetensors`: every parameter in diffusers naming, the removed units'
///   rows and columns sliced away (``ParameterSurgery``);
/// - `config.json`: the configuration the caller gives — the original one, with the new depth of every block list
///   the selection shortens (per-module widths are read back from the weights' shapes); removed blocks' tensors
///   are gone and the later blocks renumbered;
/// - `prunekit.json`: the ``ExportManifest`` (kept units per module, criterion, target, seed, source
///   fingerprints);
/// - `masks.safetensors`: the binary masks (`mask.<module key>`, `1` kept / `0` removed, original widths),
///   with `__metadata__["modules"]` listing `[key, units, kind]` in module order.
///
/// The directory appears atomically (see ``AtomicDirectoryWriter``).
public enum PrunedExport {
    /// Prunes `parameters` and writes the export.
    ///
    /// - Parameters:
    ///   - parameters: the unpruned model's tensors by checkpoint key.
    ///   - groups: the unpruned model's unit groups, in execution order.
    ///   - selection: the kept units.
    ///   - architecture: the diffusers class name, recorded in `prunekit.json`.
    ///   - configuration: the bytes of `config.json` (a JSON object).
    ///   - provenance: criterion, target, seed and source directory (its weight files are fingerprinted).
    ///   - directory: the export directory to create.
    ///   - replacing: whether an existing `directory` may be replaced.
    ///   - dtype: element type of the written weights.
    ///   - additions: tensors written next to the pruned ones under new keys (SDXL's identity blocks that pad a depth
    ///     diffusers ties to another); counted in the manifest's parameter count, not in its modules or masks.
    /// - Returns: the manifest written as `prunekit.json`.
    /// - Throws: ``ExportError`` (``ExportError/surgery(_:)`` wraps a ``SurgeryError``).
    @discardableResult
    public static func write(
        parameters: [String: Tensor], groups: [UnitGroup], selection: UnitSelection, architecture: String,
        configuration: Data, provenance: PruningProvenance = PruningProvenance(), to directory: String,
        replacing: Bool = false, dtype: DType = .float32, adding additions: [String: Tensor] = [:]
    ) throws(ExportError) -> ExportManifest {
        guard (try? JSONSerialization.jsonObject(with: configuration)) is [String: Any] else {
            throw .invalidConfiguration(reason: "config.json must be a JSON object")
        }
        var pruned: [String: Tensor]
        do { pruned = try ParameterSurgery.prune(parameters, groups: groups, selection: selection) } catch {
            throw .surgery(error)
        }
        for (key, tensor) in additions {
            guard pruned[key] == nil else { throw .invalidConfiguration(reason: "the added tensor \(key) is also a pruned tensor") }
            pruned[key] = tensor
        }
        let files = try provenance.sourceDirectory.map { (path: String) throws(ExportError) in
            try SourceFingerprint.weightFiles(inModelDirectory: path)
        } ?? []
        // A block list the selection does not mention keeps every block: it is left out of the record, so exports that
        // prune heads and neurons only stay format version 1. Heads and neurons inside a removed block keep nothing.
        let recorded = groups.filter { !$0.isBlockList || selection.kept[$0.moduleKey] != nil }
        let goneWithBlocks = selection.removedBlockMembers(in: groups)
        let manifest = ExportManifest(
            architecture: architecture, criterion: provenance.criterion, target: provenance.target, seed: provenance.seed,
            source: ExportManifest.Source(
                name: provenance.sourceDirectory, parameterCount: parameters.values.reduce(0) { $0 + $1.count }, files: files),
            parameterCount: pruned.values.reduce(0) { $0 + $1.count },
            modules: recorded.map {
                ExportManifest.Module(
                    key: $0.moduleKey, kind: $0.kind, originalUnits: $0.unitCount,
                    kept: goneWithBlocks.contains($0.moduleKey) ? [] : selection.keptUnits(of: $0))
            })
        let manifestData = try manifest.encoded()
        let moduleList = recorded.map { [$0.moduleKey, String($0.unitCount), $0.kind.rawValue] }
        let moduleListJSON = "[" + moduleList.map { "[\"\($0[0])\",\($0[1]),\"\($0[2])\"]" }.joined(separator: ",") + "]"

        do {
            try AtomicDirectoryWriter.write(to: directory, replacing: replacing, kind: "export") { temporary in
                let base = URL(fileURLWithPath: temporary)
                try SafetensorsWriter.write(
                    pruned, metadata: ["format": "pt"], to: base.appendingPathComponent("diffusion_pytorch_model.safetensors").path,
                    dtype: dtype)
                try selection.binaryMasks(for: recorded).write(
                    to: base.appendingPathComponent("masks.safetensors").path, metadata: ["modules": moduleListJSON])
                try write(configuration, to: base.appendingPathComponent("config.json"))
                try write(manifestData, to: base.appendingPathComponent(ExportManifest.fileName))
            }
        } catch let error as ExportError {
            throw error
        } catch let error as SafetensorsError {
            throw .io(path: directory, operation: "write safetensors", reason: error.description)
        } catch {
            throw .io(path: directory, operation: "write", reason: "\(error)")
        }
        return manifest
    }

    private static func write(_ data: Data, to url: URL) throws(ExportError) {
        do { try data.write(to: url, options: .atomic) } catch {
            throw .io(path: url.path, operation: "write", reason: error.localizedDescription)
        }
    }
}
