import Foundation
import PruneNN

/// Finds the weights of a transformers model folder (a pipeline's `text_encoder/`, `text_encoder_2/`).
///
/// Looked for, in order: `model.safetensors`; the shard index `model.safetensors.index.json`; and, with a
/// `variant` (e.g. `"fp16"`, diffusers' `variant=` argument), `model.<variant>.safetensors` and
/// `model.safetensors.index.<variant>.json` first. Without a variant, a folder that holds only the `fp16`
/// variant files is read from them. Tensors are memory-mapped; 16-bit ones stay 16-bit (see ``Widening``).
public enum TextEncoderCheckpoint {
    /// The tensor source for the weights in `directory`.
    /// - Throws: ``TextEncoderError/noWeights(directory:tried:)`` when none of the files exist,
    ///   ``TextEncoderError/weightFile(_:)`` when a file cannot be opened or an index is malformed.
    public static func source(directory: String, variant: String? = nil) throws(TextEncoderError)
        -> SafetensorsTensorSource
    {
        let candidates = candidates(directory: directory, variant: variant)
        for (kind, path) in candidates where FileManager.default.fileExists(atPath: path) {
            do {
                switch kind {
                case .single: return try SafetensorsTensorSource(file: path)
                case .index: return try SafetensorsTensorSource(index: path)
                }
            } catch {
                throw .weightFile(error)
            }
        }
        throw .noWeights(directory: directory, tried: candidates.map { URL(fileURLWithPath: $0.1).lastPathComponent })
    }

    enum Kind { case single, index }

    /// The files tried, in order.
    static func candidates(directory: String, variant: String?) -> [(Kind, String)] {
        let url = URL(fileURLWithPath: directory)
        func files(_ variant: String?) -> [(Kind, String)] {
            let infix = variant.map { ".\($0)" } ?? ""
            return [
                (.single, url.appendingPathComponent("model\(infix).safetensors").path),
                (.index, url.appendingPathComponent("model.safetensors.index\(infix).json").path),
            ]
        }
        if let variant { return files(variant) + files(nil) }
        return files(nil) + files("fp16")
    }
}
