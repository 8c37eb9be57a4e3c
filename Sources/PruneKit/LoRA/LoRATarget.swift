/// The model weights one LoRA module adapts.
///
/// Most LoRA modules adapt one linear (`parts` = `[to_q]`). A module written in an original checkpoint's naming
/// may adapt a projection that the diffusers model splits: Black Forest Labs' fused `img_attn.qkv` is
/// diffusers' `to_q`, `to_k`, `to_v` stacked by rows, and `single_blocks.N.linear1` is `to_q`, `to_k`, `to_v`,
/// `proj_mlp`. The LoRA's update `ΔW` `[Σ out_p, in]` then covers the parts' rows in that order, each part as
/// wide as its weight (`<part>.weight` `[out_p, in]`) in the model at hand, pruned or not.
public struct LoRATarget: Sendable, Hashable, CustomStringConvertible {
    /// Module keys of the model (each has a `<part>.weight`), in the order their rows are stacked.
    public var parts: [String]
    /// The update's rows are the stacked parts' rows with the two halves exchanged (BFL
    /// `final_layer.adaLN_modulation.1` holds `[shift; scale]` where diffusers' `norm_out.linear` holds `[scale; shift]`).
    public var swapsHalves: Bool

    public init(parts: [String], swapsHalves: Bool = false) {
        precondition(!parts.isEmpty, "a LoRA target adapts at least one module")
        self.parts = parts
        self.swapsHalves = swapsHalves
    }

    /// One module.
    public static func module(_ key: String) -> LoRATarget { LoRATarget(parts: [key]) }

    public var description: String {
        parts.count == 1 ? parts[0] + (swapsHalves ? " (halves exchanged)" : "") : "[" + parts.joined(separator: " | ") + "]"
    }
}

/// What a LoRA module name refers to in a model.
public enum LoRAModuleResolution: Sendable, Hashable {
    /// Modules of the denoiser.
    case denoiser(LoRATarget)
    /// Another pipeline component (a text encoder): its tensors pass through unchanged.
    case otherComponent(String)
    /// The name matches several modules.
    case ambiguous([String])
    /// The name matches nothing in the model.
    case unknown
}

/// How LoRA module names map to a model's modules; architectures provide one (see `PrunePipelines`'
/// `LoRANameResolver` for SDXL and FLUX).
public protocol LoRAModuleResolver: Sendable {
    /// What `module` (a LoRA module name as written in the file, suffix removed) refers to.
    func resolve(_ module: String) -> LoRAModuleResolution
    /// A few module names of the model close to `module`, for error messages.
    func suggestions(for module: String) -> [String]
}

extension LoRAModuleResolver {
    public func suggestions(for module: String) -> [String] { [] }
}
