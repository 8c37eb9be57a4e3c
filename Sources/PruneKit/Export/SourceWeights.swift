import Foundation
import PruneNN

/// Where the weights a model was loaded from live, for fingerprinting and for the export's weight type.
enum SourceWeights {
    /// What a source path holds.
    enum Location {
        /// A model folder's weights, as ``WeightFiles`` finds them (plain, sharded, or an fp16 variant).
        case directory(URL, WeightFiles)
        /// One `.safetensors` file (an SDXL single-file checkpoint).
        case file(URL)
    }

    /// The weights at `path`: a model directory; a diffusers pipeline folder (`model_index.json`), whose `unet/`
    /// or `transformer/` holds them; or a single file.
    /// - Throws: ``ExportError/unreadableSource(path:reason:)`` when nothing is there or the folder holds no weights.
    static func locate(_ path: String) throws(ExportError) -> Location {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .unreadableSource(path: path, reason: "not found") }
        guard isDirectory.boolValue else { return .file(URL(fileURLWithPath: path)) }
        var directory = URL(fileURLWithPath: path)
        if manager.fileExists(atPath: directory.appendingPathComponent("model_index.json").path) {
            for denoiser in ["unet", "transformer"] where manager.fileExists(atPath: directory.appendingPathComponent(denoiser).path) {
                directory = directory.appendingPathComponent(denoiser)
                break
            }
        }
        guard let files = WeightFiles.find(in: directory.path) else {
            throw .unreadableSource(
                path: directory.path,
                reason: "no \(WeightFiles.candidateNames(stem: WeightFiles.diffusersStem, variant: nil).joined(separator: " or ")) (nor an fp16 variant)")
        }
        return .directory(directory, files)
    }
}
