import Foundation
import PruneNN

/// SHA-256 fingerprints of the weight files a pruned model came from.
public enum SourceFingerprint {
    /// The weight files of `path`, each with its size and SHA-256:
    /// - a model directory: its weights as ``WeightFiles`` finds them — `diffusion_pytorch_model.safetensors` (or
    ///   transformers' `model.safetensors`), else the `….safetensors.index.json` followed by its shards in name
    ///   order, with the `fp16` (or another) variant when the plain files are absent;
    /// - a diffusers pipeline folder (`model_index.json`): the weights of its `unet/` or `transformer/` folder;
    /// - a single `.safetensors` file (an SDXL single-file checkpoint): that file.
    ///
    /// - Throws: ``ExportError/unreadableSource(path:reason:)`` when there are no weights, the index does
    ///   not parse, or a file cannot be read.
    public static func weightFiles(inModelDirectory path: String) throws(ExportError) -> [ExportManifest.FileDigest] {
        let directory: URL
        let files: WeightFiles
        switch try SourceWeights.locate(path) {
        case .file(let url): return [try digest(url.path, name: url.lastPathComponent)]
        case .directory(let folder, let found): (directory, files) = (folder, found)
        }
        var names: [String]
        switch files.layout {
        case .single(let file):
            names = [URL(fileURLWithPath: file).lastPathComponent]
        case .sharded(let index):
            guard let data = FileManager.default.contents(atPath: index),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let weightMap = object["weight_map"] as? [String: String]
            else { throw .unreadableSource(path: index, reason: "no weight_map of key → file") }
            names = [URL(fileURLWithPath: index).lastPathComponent] + Set(weightMap.values).sorted()
        }
        return try names.map { (name: String) throws(ExportError) in try digest(directory.appendingPathComponent(name).path, name: name) }
    }

    private static func digest(_ path: String, name: String) throws(ExportError) -> ExportManifest.FileDigest {
        do {
            let digest = try SHA256Hasher.digest(ofFile: path)
            return ExportManifest.FileDigest(name: name, bytes: digest.bytes, sha256: digest.hex)
        } catch {
            throw .unreadableSource(path: path, reason: error.localizedDescription)
        }
    }
}
