import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// An architecture PruneKit does not know, defined entirely outside it: a one-FFN denoiser on flat
/// latents `[1, D]`. Step `i` computes `x − 0.25·(W_down · (silu(W_up · (x + c)) ⊙ m) + b_down)` for
/// conditioning `c` (`prompt_embeds` `[1, D]`) and the FFN's neuron mask `m` `[H]`.
final class ToyDenoiser: PrunableModel {
    static let className = "ToyDenoiser"
    let parameters: ParameterStore
    let dimension: Int
    let hiddenWidth: Int

    /// Weights `up.weight` `[H, D]`, `up.bias` `[H]`, `down.weight` `[D, H]`, `down.bias` `[D]` from `store`.
    init(dimension: Int, hiddenWidth: Int, store: ParameterStore) throws {
        self.dimension = dimension
        self.hiddenWidth = hiddenWidth
        parameters = store
        let root = store.root
        _ = root.parameter("up.weight", shape: [hiddenWidth, dimension], initialization: .fanInUniform(fanIn: dimension))
        _ = root.parameter("up.bias", shape: [hiddenWidth], initialization: .fanInUniform(fanIn: dimension))
        _ = root.parameter("down.weight", shape: [dimension, hiddenWidth], initialization: .fanInUniform(fanIn: hiddenWidth))
        _ = root.parameter("down.bias", shape: [dimension], initialization: .fanInUniform(fanIn: hiddenWidth))
        try store.finish()
    }

    var architectureName: String { Self.className }
    var unitGroups: [UnitGroup] {
        [UnitGroup(
            moduleKey: "ffn", kind: .feedForwardNeuron, unitCount: hiddenWidth,
            slices: [
                ParameterSlice(key: "up.weight", axis: 0, width: 1), ParameterSlice(key: "up.bias", axis: 0, width: 1),
                ParameterSlice(key: "down.weight", axis: 1, width: 1),
            ])]
    }
    var accounting: ModelAccounting { ModelAccounting(parameters: parameters.parameterCount, heads: 0, ffnNeurons: hiddenWidth) }
    var defaultTrajectorySettings: TrajectorySettings { TrajectorySettings(scheduler: .sdxlBase, steps: 3, height: 1, width: 1) }
    var ecoDiffSettings: EcoDiffSettings { .sdxl }
    var forwardInputNames: [String] { ["sample", "encoder_hidden_states"] }
    var conditioningShapes: [String: [Int]] { ["prompt_embeds": [1, dimension]] }

    func forward(_ inputs: [String: Tensor], masks: UnitMasks) throws -> Tensor {
        let p = parameters.parameters
        let x = try requiredInput("sample", in: inputs) + (try requiredInput("encoder_hidden_states", in: inputs))
        var hidden = linear(x, weight: p["up.weight"]!, bias: p["up.bias"]!).silu()
        if let mask = masks["ffn"] { hidden = hidden * mask.reshaped([1, hiddenWidth]) }
        return linear(hidden, weight: p["down.weight"]!, bias: p["down.bias"]!)
    }

    struct Trajectory: DenoisingTrajectory {
        let model: ToyDenoiser
        let conditioning: Tensor
        let stepCount: Int
        func initialLatents(noise: Tensor) -> Tensor { noise }
        func step(_ latents: Tensor, index: Int, masks: UnitMasks) throws -> Tensor {
            latents - 0.25 * (try model.forward(["sample": latents, "encoder_hidden_states": conditioning], masks: masks))
        }
    }

    func trajectory(conditioning: PromptConditioning, settings: TrajectorySettings, seed: UInt64) throws -> PreparedTrajectory {
        let resolved = try settings.resolved(defaults: defaultTrajectorySettings)
        return PreparedTrajectory(
            Trajectory(model: self, conditioning: try conditioning.required("prompt_embeds"), stepCount: resolved.steps),
            noiseShape: [1, dimension])
    }

    func configurationJSON(sourceDirectory: String?) throws -> Data {
        Data(#"{"_class_name": "ToyDenoiser", "dimension": \#(dimension)}"#.utf8)
    }
}

/// Loads and builds ``ToyDenoiser``s; registered with a private ``ArchitectureRegistry`` by the tests.
struct ToyArchitecture: PrunableArchitecture {
    var name: String { "toy" }
    var summary: String { "a one-FFN denoiser on flat latents" }
    var classNames: [String] { [ToyDenoiser.className] }
    var presets: [ModelPresetDescriptor] {
        [ModelPresetDescriptor(name: "toy-8x32", summary: "D = 8, H = 32", trajectory: TrajectorySettings(scheduler: .sdxlBase, steps: 3))]
    }

    func load(directory: String) throws -> any PrunableModel {
        let url = URL(fileURLWithPath: directory)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("config.json"))) as! [String: Any]
        let file = try SafetensorsFile.open(url.appendingPathComponent("diffusion_pytorch_model.safetensors").path)
        let hiddenWidth = try file.tensor("up.weight").shape[0]
        let source = try SafetensorsTensorSource(modelDirectory: directory)
        return try ToyDenoiser(
            dimension: config["dimension"] as! Int, hiddenWidth: hiddenWidth, store: ParameterStore(source: source, sourceName: directory))
    }

    func makeModel(preset: String, seed: UInt64) throws -> any PrunableModel {
        guard preset == "toy-8x32" else { throw ArchitectureRegistryError.unknownPreset(name: preset, known: ["toy-8x32"]) }
        return try ToyDenoiser(dimension: 8, hiddenWidth: 32, store: ParameterStore(randomSeed: seed))
    }

    func accounting(preset: String) throws -> ModelAccounting { try makeModel(preset: preset, seed: 0).accounting }
}
