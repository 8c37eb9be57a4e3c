import ArgumentParser
import Foundation
import PruneKit
import PrunePipelines

/// `prunekit adapt-lora`: cuts a LoRA trained for the original model to a pruned export's shapes.
struct AdaptLoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapt-lora",
        abstract: "Cut a LoRA trained for the original model to a pruned export's shapes.",
        discussion: """
            Rows of B (lora_B / lora_up) for removed output units and columns of A (lora_A / lora_down) for removed \
            input units are dropped; every other tensor (alpha, untouched modules, text encoders) is copied byte for byte, \
            in its own dtype, with the file's metadata. Names: diffusers/PEFT (unet./transformer. + module path, \
            lora_A/lora_B), kohya (lora_unet_ + SGM names for SDXL or BFL names for FLUX, fused qkv and linear1 \
            included, lora_down/lora_up/alpha), DoRA magnitudes where the pruning keeps them exact.
            """)

    @Option(help: "The LoRA (.safetensors) trained for the unpruned model.") var lora: String
    @Option(help: "The pruned export: a pruned model folder or a pruned pipeline folder (prunekit.json inside).") var pruned: String
    @Option(help: "Where to write the sliced LoRA (.safetensors).") var output: String
    @Flag(help: "Replace an existing --output written by PruneKit (nothing else is ever replaced).") var overwrite = false

    var outputRequests: [OutputRequest] { [OutputRequest(flag: "--output", path: output, kind: .file(.safetensors))] }
    var inputPaths: [InputPath] { CommandOutputs.inputs([("--lora", lora), ("--pruned", pruned)]) }

    func validate() throws { try CommandOutputs.validate(outputRequests, inputs: inputPaths) }

    func run() throws {
        let claim = try CommandOutputs.claim(outputRequests, inputs: inputPaths, overwrite: overwrite)
        defer { claim.release() }
        let layout = try PrunedDenoiserLayout(path: pruned)
        let result = try PrunedLoRA.adapt(lora: lora, to: layout)
        try PrunedLoRA.write(result, layout: layout, to: output)
        let report = result.report
        print("\(layout.architecture): \(report.slicedModules) modules sliced, \(report.unchangedModules) unchanged, "
            + "\(report.otherComponentModules) text-encoder modules copied; \(report.elementsBefore) → \(report.elementsAfter) LoRA parameters")
        print("wrote \(output)")
    }
}
