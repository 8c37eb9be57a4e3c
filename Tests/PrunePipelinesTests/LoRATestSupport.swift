import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PrunePipelines
import PruneSDXL
import PruneTensor
import PruneTestSupport

/// A fixture model pruned by magnitude for a test — with one attention and one FFN module emptied — and its
/// export in a temporary folder (removed with the value).
final class PrunedFixture {
    let name: String
    let architecture: any PrunableArchitecture
    let original: any PrunableModel
    let selection: UnitSelection
    let directory: String
    let layout: PrunedDenoiserLayout
    /// Modules whose every unit was removed.
    let emptied: [String]

    /// Prunes `Tests/Fixtures/<name>` with the magnitude criterion at `target` (fraction of maskable parameters).
    init(_ name: String, architecture: any PrunableArchitecture, target: Double = 0.35) throws {
        self.name = name
        self.architecture = architecture
        original = try architecture.load(directory: Fixtures.path(name))
        // Heads and neurons: LoRA adaptation reads exports whose depth is the original one.
        let groups = original.unitGroups(of: [.attentionHead, .feedForwardNeuron])
        let scores = try MagnitudeCriterion().scores(in: ScoringContext(groups: groups, parameters: original.parameters.parameters))
        var selection = try PruningPlan(target: .parameters(target)).select(
            scores: scores, groups: groups, shapes: original.parameters.parameters.mapValues(\.shape)
        ).selection
        let attention = groups.first { $0.kind == .attentionHead }!.moduleKey
        let feedForward = groups.last { $0.kind == .feedForwardNeuron }!.moduleKey
        selection.setKept([], for: attention)
        selection.setKept([], for: feedForward)
        emptied = [attention, feedForward]
        self.selection = selection
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-lora-\(name)-\(UUID().uuidString)").path
        try original.exportPruned(
            selection: selection, to: directory, provenance: PruningProvenance(criterion: "magnitude", target: target, sourceDirectory: Fixtures.path(name)),
            replacing: false, dtype: .float32)
        layout = try PrunedDenoiserLayout(path: directory)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var originalParameters: [String: Tensor] { original.parameters.parameters }

    /// The export's weights.
    func prunedParameters() throws -> [String: Tensor] {
        let file = try SafetensorsFile.open(directory + "/diffusion_pytorch_model.safetensors")
        var result: [String: Tensor] = [:]
        for key in file.keys { result[key] = try file.tensor(key) }
        return result
    }

    /// The denoiser output on the fixture's inputs for the pruned configuration with `parameters`.
    func forward(_ parameters: [String: Tensor]) throws -> Tensor {
        let folder = temporaryPath("model")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: directory + "/config.json", toPath: folder + "/config.json")
        try SafetensorsWriter.write(parameters, to: folder + "/diffusion_pytorch_model.safetensors")
        let model = try architecture.load(directory: folder)
        let file = try SafetensorsFile.open(Fixtures.path("\(name)/inputs.safetensors"))
        var inputs: [String: Tensor] = [:]
        for key in file.keys { inputs[key] = try file.tensor(key) }
        return try withoutGradients { try model.forward(inputs, masks: .none) }
    }

    /// A fresh path in the temporary folder.
    func temporaryPath(_ stem: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-lora-\(stem)-\(UUID().uuidString)").path
    }

    /// The unpruned shape of `module`'s weight.
    func weightShape(_ module: String) -> [Int] { layout.originalShapes[module + ".weight"]! }

    /// Whether pruning narrows `module`'s weight.
    func isNarrowed(_ module: String) -> Bool { layout.surgery.keptIndices[module + ".weight"] != nil }
}

/// A LoRA file written by a test: random factors in the shapes of the modules they adapt.
struct TestLoRA {
    var tensors: [String: Tensor] = [:]
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// `A` `[rank] + inShape` (a convolution's kernel when `inShape` has three extents) and `B` `[out, rank]`
    /// (`[out, rank, 1, 1]` for a convolution), values N(0, 0.2²) — `B` is not zero, so the LoRA changes the model.
    mutating func factors(down: String, up: String, out: Int, inShape: [Int], rank: Int) {
        tensors[down] = Tensor.randomNormal([rank] + inShape, standardDeviation: 0.2, using: &generator)
        tensors[up] = Tensor.randomNormal([out, rank] + Array(repeating: 1, count: inShape.count - 1), standardDeviation: 0.2, using: &generator)
    }

    /// A random tensor of `shape` (N(0, 0.2²), or around 1 with `positive`).
    mutating func random(_ key: String, _ shape: [Int], positive: Bool = false) {
        tensors[key] = Tensor.randomNormal(shape, mean: positive ? 1 : 0, standardDeviation: 0.2, using: &generator)
    }

    mutating func scalar(_ key: String, _ value: Float) { tensors[key] = Tensor([value], shape: []) }

    func write(_ path: String, dtype: DType = .float32, metadata: [String: String] = [:]) throws {
        try SafetensorsWriter.write(tensors, metadata: metadata, to: path, dtype: dtype)
    }
}

/// LoRA module names written the way trainers write them, from the conventions' own rules (not from
/// PruneKit's resolver), so the tests check the resolver against them.
enum LoRANames {
    /// kohya-ss's SDXL name of a diffusers U-Net module: SGM `input_blocks` / `middle_block` / `output_blocks`
    /// (diffusers `_maybe_map_sgm_blocks_to_diffusers`, inverted), every `.` written `_`, after `lora_unet_`.
    static func kohyaSDXL(_ module: String, layersPerBlock: Int) -> String? {
        let parts = module.split(separator: ".").map(String.init)
        guard parts.count >= 5 else { return nil }
        let span = layersPerBlock + 1
        var sgm: [String]
        switch (parts[0], parts[2]) {
        case ("down_blocks", "attentions"):
            sgm = ["input_blocks", String(1 + Int(parts[1])! * span + Int(parts[3])!), "1"] + parts[4...]
        case ("up_blocks", "attentions"):
            sgm = ["output_blocks", String(Int(parts[1])! * span + Int(parts[3])!), "1"] + parts[4...]
        case ("mid_block", _) where parts[1] == "attentions":
            sgm = ["middle_block", "1"] + parts[3...]
        case ("down_blocks", "resnets") where parts[4] == "conv1":
            sgm = ["input_blocks", String(1 + Int(parts[1])! * span + Int(parts[3])!), "0", "in_layers", "2"]
        default:
            return nil
        }
        return "lora_unet_" + sgm.joined(separator: "_")
    }

    /// kohya-ss's FLUX names (BFL modules, `lora_flux.py`) and the diffusers modules whose rows each stacks.
    static func kohyaFlux(doubleBlocks: Int, singleBlocks: Int) -> [(name: String, parts: [String], swapsHalves: Bool)] {
        var names: [(String, [String], Bool)] = []
        for i in 0..<doubleBlocks {
            let block = "transformer_blocks.\(i)"
            names += [
                ("double_blocks_\(i)_img_attn_qkv", ["\(block).attn.to_q", "\(block).attn.to_k", "\(block).attn.to_v"], false),
                ("double_blocks_\(i)_txt_attn_qkv", ["\(block).attn.add_q_proj", "\(block).attn.add_k_proj", "\(block).attn.add_v_proj"], false),
                ("double_blocks_\(i)_img_attn_proj", ["\(block).attn.to_out.0"], false),
                ("double_blocks_\(i)_txt_attn_proj", ["\(block).attn.to_add_out"], false),
                ("double_blocks_\(i)_img_mlp_0", ["\(block).ff.net.0.proj"], false),
                ("double_blocks_\(i)_img_mlp_2", ["\(block).ff.net.2"], false),
                ("double_blocks_\(i)_txt_mlp_0", ["\(block).ff_context.net.0.proj"], false),
                ("double_blocks_\(i)_txt_mlp_2", ["\(block).ff_context.net.2"], false),
                ("double_blocks_\(i)_img_mod_lin", ["\(block).norm1.linear"], false),
                ("double_blocks_\(i)_txt_mod_lin", ["\(block).norm1_context.linear"], false),
            ]
        }
        for i in 0..<singleBlocks {
            let block = "single_transformer_blocks.\(i)"
            names += [
                ("single_blocks_\(i)_linear1", ["\(block).attn.to_q", "\(block).attn.to_k", "\(block).attn.to_v", "\(block).proj_mlp"], false),
                ("single_blocks_\(i)_linear2", ["\(block).proj_out"], false),
                ("single_blocks_\(i)_modulation_lin", ["\(block).norm.linear"], false),
            ]
        }
        names += [
            ("img_in", ["x_embedder"], false), ("txt_in", ["context_embedder"], false),
            ("time_in_in_layer", ["time_text_embed.timestep_embedder.linear_1"], false),
            ("final_layer_linear", ["proj_out"], false), ("final_layer_adaLN_modulation_1", ["norm_out.linear"], true),
        ]
        return names.map { ("lora_unet_" + $0.0, $0.1, $0.2) }
    }
}
