import Foundation
import PruneNN
import PruneTensor

/// The floating-point type a model's weights are stored in, so a pruned export can keep it: a pruned fp16
/// SDXL U-Net written as float32 would be larger on disk than the model it came from.
public enum SourceDType {
    /// The dominant stored floating type (by element count) of the weights at `path` — a model directory, a
    /// pipeline folder (its `unet/` or `transformer/`), or a single `.safetensors` file (every tensor whose key
    /// starts with `keyPrefix`, e.g. `model.diffusion_model.` for an SDXL single file's U-Net) — or nil when it
    /// holds no floating tensors or cannot be read.
    public static func of(_ path: String, keyPrefix: String = "") -> DType? {
        let source: SafetensorsTensorSource?
        switch try? SourceWeights.locate(path) {
        case .file(let url): source = try? SafetensorsTensorSource(file: url.path)
        case .directory(_, let files): source = try? SafetensorsTensorSource(files)
        case nil: source = nil
        }
        guard let source else { return nil }
        var elements: [DType: Int] = [:]
        for key in source.keys where key.hasPrefix(keyPrefix) {
            guard let dtype = source.storedDType(of: key), let shape = source.shape(of: key) else { continue }
            elements[dtype, default: 0] += shape.reduce(1, *)
        }
        return elements.max { $0.value < $1.value || ($0.value == $1.value && $0.key.rawValue > $1.key.rawValue) }?.key
    }
}
