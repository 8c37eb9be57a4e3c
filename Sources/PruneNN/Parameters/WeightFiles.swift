import Foundation

/// The weights file(s) of one diffusers or transformers model folder: a single safetensors file or the
/// index of its shards, in the plain form or a precision variant (`fp16`, `bf16`, …).
///
/// This implementation matches: diffusers `utils/hub_utils.py` `_add_variant` (the variant goes before the
/// last extension: `diffusion_pytorch_model.fp16.safetensors`, `diffusion_pytorch_model.safetensors.index.fp16.json`;
/// shards are named by the index, e.g. `diffusion_pytorch_model.fp16-00001-of-00002.safetensors`) and
/// transformers' `model.safetensors` naming. Deviation: when no variant is asked for and the plain file is
/// absent, a variant is taken (`fp16` first, then the others in name order) instead of failing, because
/// users often download only the fp16 files.
public struct WeightFiles: Sendable, Equatable {
    /// How the weights are stored.
    public enum Layout: Sendable, Equatable {
        /// One safetensors file (its path).
        case single(String)
        /// A `*.safetensors.index*.json` naming the shards (its path).
        case sharded(index: String)
    }

    /// The stem diffusers models use (`diffusion_pytorch_model`).
    public static let diffusersStem = "diffusion_pytorch_model"
    /// The stem transformers models use (`model`).
    public static let transformersStem = "model"

    /// Where the weights are.
    public var layout: Layout
    /// The precision variant (`fp16`, …), `nil` for the plain files.
    public var variant: String?

    public init(layout: Layout, variant: String?) {
        self.layout = layout
        self.variant = variant
    }

    /// The path of the file or index.
    public var path: String {
        switch layout {
        case .single(let path), .sharded(let path): path
        }
    }

    /// The file names a folder may hold for `stem` and `variant`: the single file, then the index.
    public static func candidateNames(stem: String, variant: String?) -> [String] {
        guard let variant else { return ["\(stem).safetensors", "\(stem).safetensors.index.json"] }
        return ["\(stem).\(variant).safetensors", "\(stem).safetensors.index.\(variant).json"]
    }

    /// Finds the weights in `directory`.
    /// - Parameters:
    ///   - stems: the file stems to look for, in order (default: diffusers', then transformers').
    ///   - variant: a required variant, or `nil` for the plain files with a variant as the fallback.
    /// - Returns: the weights, or `nil` when the folder holds none of the candidates.
    public static func find(
        in directory: String, stems: [String] = [diffusersStem, transformersStem], variant: String? = nil
    ) -> WeightFiles? {
        let url = URL(fileURLWithPath: directory)
        func existing(_ stem: String, _ variant: String?) -> WeightFiles? {
            let names = candidateNames(stem: stem, variant: variant)
            if FileManager.default.fileExists(atPath: url.appendingPathComponent(names[0]).path) {
                return WeightFiles(layout: .single(url.appendingPathComponent(names[0]).path), variant: variant)
            }
            if FileManager.default.fileExists(atPath: url.appendingPathComponent(names[1]).path) {
                return WeightFiles(layout: .sharded(index: url.appendingPathComponent(names[1]).path), variant: variant)
            }
            return nil
        }
        for stem in stems {
            if let found = existing(stem, variant) { return found }
        }
        guard variant == nil else { return nil }
        let offered = availableVariants(in: directory, stems: stems)
        for candidate in offered {
            for stem in stems {
                if let found = existing(stem, candidate) { return found }
            }
        }
        return nil
    }

    /// The variants present in `directory` for `stems`, `fp16` first, the rest in name order.
    public static func availableVariants(in directory: String, stems: [String] = [diffusersStem, transformersStem]) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var variants: Set<String> = []
        for name in names {
            for stem in stems {
                // <stem>.<variant>.safetensors
                if name.hasPrefix(stem + "."), name.hasSuffix(".safetensors") {
                    let middle = name.dropFirst(stem.count + 1).dropLast(".safetensors".count)
                    if !middle.isEmpty, !middle.contains("."), !middle.contains("-") { variants.insert(String(middle)) }
                }
                // <stem>.safetensors.index.<variant>.json
                let indexHead = stem + ".safetensors.index."
                if name.hasPrefix(indexHead), name.hasSuffix(".json") {
                    let middle = name.dropFirst(indexHead.count).dropLast(".json".count)
                    if !middle.isEmpty, !middle.contains(".") { variants.insert(String(middle)) }
                }
            }
        }
        return variants.sorted { ($0 == "fp16" ? 0 : 1, $0) < ($1 == "fp16" ? 0 : 1, $1) }
    }
}

extension SafetensorsTensorSource {
    /// The weights `files` names.
    public init(_ files: WeightFiles) throws(CheckpointFileError) {
        switch files.layout {
        case .single(let path): try self.init(file: path)
        case .sharded(let index): try self.init(index: index)
        }
    }
}
