import Foundation

/// SHA-256 fingerprints of a diffusers model directory's weight files.
public enum SourceFingerprint {
    /// The weight files of `directory` — `diffusion_pytorch_model.safetensors`, or
    /// `diffusion_pytorch_model.safetensors.index.json` followed by its shards in name order — each with
    /// its size and SHA-256.
    ///
    /// - Throws: ``ExportError/unreadableSource(path:reason:)`` when there are no weights, the index does
    ///   not parse, or a file cannot be read.
    public static func weightFiles(inModelDirectory directory: String) throws(ExportError) -> [ExportManifest.FileDigest] {
        let url = URL(fileURLWithPath: directory)
        let manager = FileManager.default
        let single = "diffusion_pytorch_model.safetensors"
        let index = "diffusion_pytorch_model.safetensors.index.json"
        var names: [String]
        if manager.fileExists(atPath: url.appendingPathComponent(single).path) {
            names = [single]
        } else if let data = manager.contents(atPath: url.appendingPathComponent(index).path) {
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let weightMap = object["weight_map"] as? [String: String]
            else { throw .unreadableSource(path: url.appendingPathComponent(index).path, reason: "no weight_map of key → file") }
            names = [index] + Set(weightMap.values).sorted()
        } else {
            throw .unreadableSource(path: directory, reason: "no \(single) or \(index)")
        }
        return try names.map { (name: String) throws(ExportError) -> ExportManifest.FileDigest in
            let path = url.appendingPathComponent(name).path
            do {
                let digest = try SHA256Hasher.digest(ofFile: path)
                return ExportManifest.FileDigest(name: name, bytes: digest.bytes, sha256: digest.hex)
            } catch {
                throw .unreadableSource(path: path, reason: error.localizedDescription)
            }
        }
    }
}
