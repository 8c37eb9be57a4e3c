/// What one tensor of a LoRA file is to the layer it adapts (a linear weight `W` `[out, in]`, or a
/// convolution kernel `[out, in, kh, kw]`).
public enum LoRARole: Sendable, Hashable, CustomStringConvertible {
    /// `A` (PEFT `lora_A`, kohya `lora_down`): `[r, in]`, or `[r, in, kh, kw]` on a convolution.
    case down
    /// `B` (PEFT `lora_B`, kohya `lora_up`): `[out, r]`, or `[out, r, 1, 1]` on a convolution.
    case up
    /// PEFT's `lora_B.bias` (`lora_bias=True`): `[out]`, added to the layer's bias with the LoRA scale.
    case upBias
    /// kohya's `alpha`: a scalar; the update is `(alpha / r)·B·A` (`alpha = r` when absent).
    case alpha
    /// DoRA's magnitude: PEFT `lora_magnitude_vector` `[out]`; LyCORIS `dora_scale` `[out, 1]` (one per output)
    /// or `[1, in]` (one per input).
    case magnitude
    /// LoCon's Tucker core `lora_mid` `[r, r, kh, kw]` (convolutions only).
    case mid
    /// A full weight difference `diff` (the shape of `W`).
    case diff
    /// A full bias difference `diff_b` `[out]`.
    case diffBias
    /// A tensor of another adapter algorithm (LoHa, LoKr, GLoRA, OFT, norm replacement) whose update is not
    /// `B·A`; it can be copied, never sliced.
    case otherAlgorithm(String)

    public var description: String {
        switch self {
        case .down: "down (A)"
        case .up: "up (B)"
        case .upBias: "up bias"
        case .alpha: "alpha"
        case .magnitude: "DoRA magnitude"
        case .mid: "Tucker core"
        case .diff: "weight difference"
        case .diffBias: "bias difference"
        case .otherAlgorithm(let name): "\(name) factor"
        }
    }
}

/// One key of a LoRA file split into the module name it was written with and the tensor's ``LoRARole``.
///
/// The module name is whatever naming the trainer used (`unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q`,
/// `lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q`, `lora_unet_double_blocks_0_img_attn_qkv`, …);
/// an architecture's resolver maps it to model modules.
///
/// This implementation matches the suffixes read by: PEFT (`lora_A` / `lora_B` / `lora_magnitude_vector`, with or
/// without the adapter name `default` that a raw `state_dict()` keeps),
/// kohya-ss sd-scripts `networks/lora.py` (`lora_down` / `lora_up` / `alpha`), diffusers' pre-PEFT formats
/// (`to_q_lora.down`, `.lora.down`, `.lora_linear_layer.down`; `utils/state_dict_utils.py`), and ComfyUI
/// `comfy/lora.py` (`dora_scale`, `lora_mid`, `diff`, `diff_b`, LoHa `hada_*`, LoKr `lokr_*`, GLoRA, `w_norm`).
public struct LoRAKey: Sendable, Hashable {
    /// The full key.
    public var key: String
    /// The module name, as written in the file.
    public var module: String
    public var role: LoRARole

    /// Suffixes after the module name and the role each marks, longest first where one ends another.
    public static let suffixes: [(suffix: String, role: LoRARole)] = [
        (".lora_A.weight", .down), (".lora_B.weight", .up), (".lora_B.bias", .upBias),
        (".lora_A.default.weight", .down), (".lora_B.default.weight", .up), (".lora_B.default.bias", .upBias),
        (".lora_magnitude_vector.default.weight", .magnitude),
        (".lora_down.weight", .down), (".lora_up.weight", .up), (".lora_mid.weight", .mid),
        (".lora_linear_layer.down.weight", .down), (".lora_linear_layer.up.weight", .up),
        (".lora.down.weight", .down), (".lora.up.weight", .up),
        ("_lora.down.weight", .down), ("_lora.up.weight", .up),
        (".alpha", .alpha),
        (".lora_magnitude_vector.weight", .magnitude), (".lora_magnitude_vector", .magnitude), (".dora_scale", .magnitude),
        (".diff", .diff), (".diff_b", .diffBias),
    ] + ["hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2"].map { ("." + $0, .otherAlgorithm("LoHa")) }
        + ["lokr_w1", "lokr_w2", "lokr_w1_a", "lokr_w1_b", "lokr_w2_a", "lokr_w2_b", "lokr_t2"].map { ("." + $0, .otherAlgorithm("LoKr")) }
        + ["a1.weight", "a2.weight", "b1.weight", "b2.weight"].map { ("." + $0, .otherAlgorithm("GLoRA")) }
        + [(".oft_blocks", .otherAlgorithm("OFT")), (".oft_R.weight", .otherAlgorithm("OFT")), (".w_norm", .otherAlgorithm("norm")),
           (".b_norm", .otherAlgorithm("norm"))]

    /// Splits `key`, or `nil` when it ends in no known suffix (or the module name would be empty).
    public static func parse(_ key: String) -> LoRAKey? {
        var best: (suffix: String, role: LoRARole)?
        for entry in suffixes where key.hasSuffix(entry.suffix) && key.count > entry.suffix.count {
            if best == nil || entry.suffix.count > best!.suffix.count { best = entry }
        }
        guard let best else { return nil }
        return LoRAKey(key: key, module: String(key.dropLast(best.suffix.count)), role: best.role)
    }
}
