/// How a pruned model recovers quality by distillation from its original.
public enum RecoveryMethod: Sendable, Equatable, CustomStringConvertible {
    /// LoRA of rank `rank` (scale `alpha / rank`) on every rank-2 weight whose key matches `targets`
    /// (by default the attention and FFN projections); merged into the weights afterwards, so the result
    /// is again a plain dense model.
    case lowRank(rank: Int, alpha: Float, targets: [ModulePattern] = RecoveryMethod.projectionPatterns)
    /// Every parameter trained.
    case fullFineTune

    /// Attention (q/k/v/out, FLUX's added projections) and FFN projections in diffusers naming.
    public static let projectionPatterns: [ModulePattern] = [
        "*.to_q.weight", "*.to_k.weight", "*.to_v.weight", "*.to_out.0.weight", "*.add_q_proj.weight",
        "*.add_k_proj.weight", "*.add_v_proj.weight", "*.to_add_out.weight", "*.ff.net.0.proj.weight", "*.ff.net.2.weight",
        "*.ff_context.net.0.proj.weight", "*.ff_context.net.2.weight", "*.proj_mlp.weight", "*.proj_out.weight",
    ].map(ModulePattern.init)

    public var description: String {
        switch self {
        case .lowRank(let rank, let alpha, _): "LoRA r=\(rank) α=\(alpha)"
        case .fullFineTune: "full fine-tune"
        }
    }
}
