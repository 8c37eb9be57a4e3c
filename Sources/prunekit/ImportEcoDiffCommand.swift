import ArgumentParser
import Foundation
import PruneKit
import PruneSDXL
import PruneTensor

extension EcoDiffBinarization.Scope: ExpressibleByArgument {}

/// `prunekit import-ecodiff`: EcoDiff's released λ files (`attn.pt`, `ff.pt`) → a PruneKit masks file, read
/// without Python through the restricted checkpoint reader and binarised as the release does.
struct ImportEcoDiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-ecodiff",
        abstract: "Turn EcoDiff's learned λ files (attn.pt, ff.pt) into a PruneKit masks file.",
        discussion: """
            Reads the torch.save files EcoDiff releases (github.com/YaNgZhAnG-V5/EcoDiff, branch inference_only, \
            mask/attn.pt and mask/ff.pt: lists of bf16 λ vectors, one per module in forward-execution order) \
            without Python and without running anything in them: only tensor rebuilds are accepted, any other \
            pickle global (os.system, eval, …) is refused with an error naming it and nothing is written. \
            Binarises as the release does (FFN λ clamped at 0; per kind keep int(n·ratio) units by a stable \
            descending sort, ties to the earlier unit; --scope global ranks all modules of a kind together, local \
            each module alone) and writes mask.<module key> tensors (1 kept, 0 removed) that forward --masks, \
            sample --masks and prune --masks read. --model or --preset must be an SDXL U-Net whose modules match \
            the files one for one.
            """)

    @Option(help: "EcoDiff's attention λ file (attn.pt: attn1 and attn2 of every transformer block).") var attention: String
    @Option(help: "EcoDiff's FFN λ file (ff.pt: every transformer block's feed-forward).") var ffn: String
    @Option(help: "An SDXL U-Net folder, a pipeline folder or an SDXL single file the λ were learned on.") var model: String?
    @Option(help: "An SDXL preset instead of --model (sdxl-base for the released masks).") var preset: String?
    @Option(help: "global (rank every module of a kind together, the release's choice) or local (each module alone).")
    var scope: EcoDiffBinarization.Scope = .global
    @Option(
        parsing: .upToNextOption,
        help: "Kept fractions HEADS NEURONS (default 0.68 0.88, the release's SDXL demo); one value applies to both.")
    var ratio: [Double] = []
    @Option(help: "Where to write the masks (safetensors).") var output: String
    @Flag(help: "Replace an existing --output written by PruneKit (nothing else is ever replaced).") var overwrite = false

    var outputRequests: [OutputRequest] { [OutputRequest(flag: "--output", path: output, kind: .file(.safetensors))] }
    var inputPaths: [InputPath] {
        CommandOutputs.inputs([("--attention", attention), ("--ffn", ffn), ("--model", model)])
    }

    /// The kept fractions from `--ratio` (the release's 0.68 / 0.88 when absent).
    var ratios: EcoDiffImport.Ratios {
        switch ratio.count {
        case 0: .release
        case 1: EcoDiffImport.Ratios(heads: ratio[0], neurons: ratio[0])
        default: EcoDiffImport.Ratios(heads: ratio[0], neurons: ratio[1])
        }
    }

    func validate() throws {
        guard (preset == nil) != (model == nil) else { throw ValidationError("give exactly one of --preset or --model") }
        guard ratio.count <= 2 else { throw ValidationError("--ratio takes HEADS NEURONS (two values) or one for both, got \(ratio.count)") }
        for value in ratio where !(value >= 0 && value <= 1) {
            throw ValidationError("--ratio values are kept fractions in [0, 1], got \(value)")
        }
        try CommandOutputs.validate(outputRequests, inputs: inputPaths)
    }

    func run() throws {
        let claim = try CommandOutputs.claim(outputRequests, inputs: inputPaths, overwrite: overwrite)
        defer { claim.release() }

        // The λ files first: a refused file stops the run before any model is read.
        let attentionLambdas = try EcoDiffImport.readLambdas(path: attention)
        let ffnLambdas = try EcoDiffImport.readLambdas(path: ffn)
        let target = try Target.resolve(model: model, preset: preset)
        let result = try EcoDiffImport.binarize(
            attention: attentionLambdas, feedForward: ffnLambdas, groups: target.groups, scope: scope, ratios: ratios)

        let groups = target.groups.filter { $0.kind == .attentionHead || $0.kind == .feedForwardNeuron }
        let removed = result.selection.removedParameterCount(in: groups, shapes: target.shape)
        let pruned = target.parameters - removed
        let moduleList = "[" + groups.map { "[\"\($0.moduleKey)\",\($0.unitCount),\"\($0.kind.rawValue)\"]" }.joined(separator: ",") + "]"
        let metadata = [
            "prunekit.output": "import-ecodiff",
            "prunekit.ecodiff.scope": scope.rawValue,
            "prunekit.ecodiff.ratio": "\(ratios.heads) \(ratios.neurons)",
            "prunekit.ecodiff.attention_sha256": try SHA256Hasher.digest(ofFile: attention).hex,
            "prunekit.ecodiff.ffn_sha256": try SHA256Hasher.digest(ofFile: ffn).hex,
            "prunekit.model": target.name,
            "prunekit.parameters": String(pruned),
            "modules": moduleList,
        ]
        try result.masks.write(to: output, metadata: metadata)

        print("attention heads  kept \(result.keptHeads) of \(result.totalHeads) (\(scope.rawValue), ratio \(ratios.heads))")
        print("FFN neurons      kept \(result.keptNeurons) of \(result.totalNeurons) (\(scope.rawValue), ratio \(ratios.neurons))")
        print("emptied modules  \(result.emptiedModules.count)\(result.emptiedModules.isEmpty ? "" : ": " + result.emptiedModules.joined(separator: ", "))")
        print("parameters       \(target.parameters) → \(pruned) (\(removed) removed, \(String(format: "%.2f", 100 * Double(removed) / Double(max(target.parameters, 1)))) %)")
        printProgress("wrote \(output) (\(groups.count) masks)")
    }

    /// The SDXL U-Net the λ are mapped onto: its unit groups in execution order and its parameter shapes.
    struct Target {
        var name: String
        var groups: [UnitGroup]
        var shape: (String) -> [Int]?
        var parameters: Int

        static func resolve(model: String?, preset: String?) throws -> Target {
            if let preset {
                let (architecture, descriptor) = try Architectures.registry.preset(named: preset)
                guard let sdxl = architecture as? SDXLArchitecture else {
                    throw CLIError.badOption(
                        "--preset \(descriptor.name) is a \(architecture.name) model; import-ecodiff maps EcoDiff's SDXL λ layout (attn1, attn2, ff per U-Net transformer block) and reads SDXL presets only")
                }
                let configuration = try sdxl.configuration(preset: descriptor.name)
                let layout = try UNet2DConditionModel.layout(of: configuration)
                return Target(
                    name: descriptor.name, groups: layout.groups, shape: { layout.shapes[$0] }, parameters: layout.parameterCount)
            }
            let path = model!
            let loaded = try Architectures.loadModel(directory: path)
            guard loaded.architectureName == UNet2DConditionModel.className else {
                throw CLIError.invalidFile(
                    path: path,
                    reason: "a \(loaded.architectureName) model; import-ecodiff maps EcoDiff's SDXL λ layout and reads SDXL U-Nets (UNet2DConditionModel) only")
            }
            let parameters = loaded.parameters.parameters
            return Target(name: path, groups: loaded.unitGroups, shape: { parameters[$0]?.shape }, parameters: loaded.accounting.parameters)
        }
    }
}
