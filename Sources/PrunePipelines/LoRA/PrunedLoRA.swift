import PruneKit
import PruneTensor

/// LoRAs trained for an unpruned SDXL U-Net or FLUX transformer, cut to a PruneKit pruned export.
///
/// ```swift
/// let layout = try PrunedDenoiserLayout(path: "sdxl-pruned/")
/// let sliced = try PrunedLoRA.adapt(lora: "style.safetensors", to: layout)
/// try PrunedLoRA.write(sliced, layout: layout, to: "style-pruned.safetensors")
/// ```
///
/// The rules are ``LoRASlicing``'s; the module names are resolved by ``LoRANameResolver`` (diffusers/PEFT,
/// kohya `lora_unet_*` in SGM or BFL names, text encoders passed through).
public enum PrunedLoRA {
    /// The value of `prunekit.output` in the written file's metadata.
    public static let outputKind = "adapt-lora"

    /// Reads and slices the LoRA at `path`.
    /// - Throws: ``LoRAAdaptationError/lora(_:)`` for a file that cannot be read or sliced (see ``LoRAError``).
    public static func adapt(lora path: String, to layout: PrunedDenoiserLayout) throws(LoRAAdaptationError) -> LoRASlicing.Result {
        let file: SafetensorsFile
        do { file = try SafetensorsFile.open(path) } catch { throw .lora(.unreadable(path: path, reason: error.description)) }
        do {
            return try LoRASlicing.slice(file, resolver: layout.resolver, surgery: layout.surgery, originalShapes: layout.originalShapes)
        } catch {
            throw .lora(error)
        }
    }

    /// The input's metadata with PruneKit's output marker and the pruned model it fits.
    public static func metadata(of result: LoRASlicing.Result, layout: PrunedDenoiserLayout) -> [String: String] {
        var metadata = result.metadata
        metadata["prunekit.output"] = outputKind
        metadata["prunekit.architecture"] = layout.architecture
        metadata["prunekit.pruned_parameter_count"] = String(layout.manifest.parameterCount)
        return metadata
    }

    /// Writes `result` to `path` atomically (a temporary beside it, renamed into place).
    /// - Throws: ``LoRAAdaptationError/write(path:reason:)``.
    public static func write(_ result: LoRASlicing.Result, layout: PrunedDenoiserLayout, to path: String) throws(LoRAAdaptationError) {
        do { try SafetensorsWriter.write(stored: result.tensors, metadata: metadata(of: result, layout: layout), to: path) } catch {
            throw .write(path: path, reason: error.description)
        }
    }
}
