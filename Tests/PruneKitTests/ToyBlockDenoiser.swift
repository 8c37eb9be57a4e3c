import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// A denoiser with a list of residual blocks, defined outside PruneKit, for whole-block pruning: on flat latents
/// `[1, D]`, block `l` computes `x + W_down,l · (silu(W_up,l · (x + c) + b_up,l) ⊙ m_l) + b_down,l` for conditioning `c`
/// (`prompt_embeds` `[1, D]`), with neuron masks `mask.blocks.<l>.ffn` `[H_l]` and the block mask `mask.blocks`
/// `[L]` (``UnitMasks/block(_:index:input:output:)``). Its `config.json` says the depth (`"depth": L`), so a
/// block-pruned export loads with the new depth and renumbered keys.
final class ToyBlockDenoiser: PrunableModel {
    static let className = "ToyBlockDenoiser"
    let parameters: ParameterStore
    let dimension: Int
    let widths: [Int]
    /// Whether exports may change the depth (``prunedConfigurationJSON(sourceDirectory:selection:)``); when
    /// false, the protocol's default (which refuses block removal) is used.
    let writesDepth: Bool

    /// Weights `blocks.<l>.ffn.up.{weight [H_l, D], bias [H_l]}`, `blocks.<l>.ffn.down.{weight [D, H_l], bias [D]}`.
    init(dimension: Int, widths: [Int], store: ParameterStore, writesDepth: Bool = true) throws {
        self.dimension = dimension
        self.widths = widths
        self.writesDepth = writesDepth
        parameters = store
        for (index, width) in widths.enumerated() {
            let scope = store.root.scoped("blocks.\(index).ffn")
            _ = scope.parameter("up.weight", shape: [width, dimension], initialization: .fanInUniform(fanIn: dimension))
            _ = scope.parameter("up.bias", shape: [width], initialization: .fanInUniform(fanIn: dimension))
            _ = scope.parameter("down.weight", shape: [dimension, width], initialization: .fanInUniform(fanIn: max(width, 1)))
            _ = scope.parameter("down.bias", shape: [dimension], initialization: .fanInUniform(fanIn: max(width, 1)))
        }
        try store.finish()
    }

    var architectureName: String { Self.className }
    var unitGroups: [UnitGroup] {
        [UnitGroup.blocks(listKey: "blocks", count: widths.count, parameterKeys: parameters.parameters.keys)]
            + widths.enumerated().map { index, width in
                let key = "blocks.\(index).ffn"
                return UnitGroup(
                    moduleKey: key, kind: .feedForwardNeuron, unitCount: width,
                    slices: [
                        ParameterSlice(key: "\(key).up.weight", axis: 0, width: 1), ParameterSlice(key: "\(key).up.bias", axis: 0, width: 1),
                        ParameterSlice(key: "\(key).down.weight", axis: 1, width: 1),
                    ])
            }
    }
    var accounting: ModelAccounting { ModelAccounting(parameters: parameters.parameterCount, heads: 0, ffnNeurons: widths.reduce(0, +)) }
    var defaultTrajectorySettings: TrajectorySettings { TrajectorySettings(scheduler: .sdxlBase, steps: 3, height: 1, width: 1) }
    var ecoDiffSettings: EcoDiffSettings { .sdxl }
    var forwardInputNames: [String] { ["sample", "encoder_hidden_states"] }
    var conditioningShapes: [String: [Int]] { ["prompt_embeds": [1, dimension]] }

    func forward(_ inputs: [String: Tensor], masks: UnitMasks) throws -> Tensor {
        let p = parameters.parameters
        let condition = try requiredInput("encoder_hidden_states", in: inputs)
        var x = try requiredInput("sample", in: inputs)
        for (index, width) in widths.enumerated() {
            let key = "blocks.\(index).ffn"
            var hidden = linear(x + condition, weight: p["\(key).up.weight"]!, bias: p["\(key).up.bias"]!).silu()
            if let mask = masks[key] { hidden = hidden * mask.reshaped([1, width]) }
            let output = x + linear(hidden, weight: p["\(key).down.weight"]!, bias: p["\(key).down.bias"]!)
            x = masks.block("blocks", index: index, input: x, output: output)
        }
        return x
    }

    struct Trajectory: DenoisingTrajectory {
        let model: ToyBlockDenoiser
        let conditioning: Tensor
        let stepCount: Int
        func initialLatents(noise: Tensor) -> Tensor { noise }
        func step(_ latents: Tensor, index: Int, masks: UnitMasks) throws -> Tensor {
            0.5 * (try model.forward(["sample": latents, "encoder_hidden_states": conditioning], masks: masks))
        }
    }

    func trajectory(conditioning: PromptConditioning, settings: TrajectorySettings, seed: UInt64) throws -> PreparedTrajectory {
        let resolved = try settings.resolved(defaults: defaultTrajectorySettings)
        return PreparedTrajectory(
            Trajectory(model: self, conditioning: try conditioning.required("prompt_embeds"), stepCount: resolved.steps),
            noiseShape: [1, dimension])
    }

    func configurationJSON(sourceDirectory: String?) throws -> Data {
        Data(#"{"_class_name": "ToyBlockDenoiser", "dimension": \#(dimension), "depth": \#(widths.count)}"#.utf8)
    }

    func prunedConfigurationJSON(sourceDirectory: String?, selection: UnitSelection) throws -> Data {
        guard writesDepth else {
            if selection.keptUnits(of: unitGroups[0]).count < widths.count {
                throw ExportError.depthNotExpressible(architecture: architectureName, module: "blocks")
            }
            return try configurationJSON(sourceDirectory: sourceDirectory)
        }
        let depth = selection.keptUnits(of: unitGroups[0]).count
        return Data(#"{"_class_name": "ToyBlockDenoiser", "dimension": \#(dimension), "depth": \#(depth)}"#.utf8)
    }

    /// Loads an export: the depth from `config.json`, each block's width from its `up.weight`.
    static func load(directory: String) throws -> ToyBlockDenoiser {
        let url = URL(fileURLWithPath: directory)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("config.json"))) as! [String: Any]
        let source = try SafetensorsTensorSource(modelDirectory: directory)
        let depth = config["depth"] as! Int
        let widths = (0..<depth).map { source.shape(of: "blocks.\($0).ffn.up.weight")?[0] ?? 0 }
        return try ToyBlockDenoiser(
            dimension: config["dimension"] as! Int, widths: widths, store: ParameterStore(source: source, sourceName: directory))
    }
}
