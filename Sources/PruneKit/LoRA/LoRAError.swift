/// Errors from reading, slicing or merging a LoRA file; each names the file and the key involved.
public enum LoRAError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is not a readable safetensors file.
    case unreadable(path: String, reason: String)
    /// The file holds no tensors.
    case empty(path: String)
    /// A key ends in no LoRA suffix PruneKit knows.
    case unrecognizedKey(path: String, key: String)
    /// A key names a module the model does not have.
    case unknownModule(path: String, key: String, module: String, suggestions: [String])
    /// A key's module name matches several modules.
    case ambiguousModule(path: String, key: String, module: String, candidates: [String])
    /// A tensor's shape does not fit the module it adapts (`expected` as `[8, 320]`, `[320, r]`, …).
    case shapeMismatch(path: String, key: String, expected: String, actual: [Int])
    /// A module has one LoRA factor and lacks the other.
    case incompleteModule(path: String, key: String, missing: String)
    /// A module that loses units carries tensors of an adapter whose update is not `B·A` (LoHa, LoKr, …).
    case unsliceableAlgorithm(path: String, key: String, algorithm: String, module: String)
    /// A DoRA magnitude is normalised over units the pruned model no longer has.
    case magnitudeOverRemovedUnits(path: String, key: String, module: String, removed: String)
    /// A tensor to slice is stored in a packed sub-byte type.
    case unsliceableDType(path: String, key: String, dtype: String)
    /// Two keys give one module the same role (`x.lora_A.weight` and `x.lora_down.weight`, say).
    case duplicateRole(path: String, key: String, other: String)
    /// A tensor cannot be cut to the pruned shapes for another reason, given.
    case unsupportedSlice(path: String, key: String, reason: String)
    /// Merging cannot apply this tensor (a missing bias, a convolution DoRA, a Tucker core, …).
    case unsupportedMerge(path: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): not a readable LoRA safetensors file: \(reason)"
        case .empty(let path): "\(path): the LoRA file holds no tensors"
        case .unrecognizedKey(let path, let key):
            "\(path): \(key) is not a LoRA tensor name PruneKit knows (expected <module>.lora_A.weight / .lora_B.weight, "
                + "<module>.lora_down.weight / .lora_up.weight / .alpha, or another suffix listed in the README)"
        case .unknownModule(let path, let key, let module, let suggestions):
            "\(path): \(key) adapts \(module), which the model does not have"
                + (suggestions.isEmpty ? "" : " (closest: \(suggestions.joined(separator: ", ")))")
        case .ambiguousModule(let path, let key, let module, let candidates):
            "\(path): \(key): \(module) matches several modules (\(candidates.joined(separator: ", ")))"
        case .shapeMismatch(let path, let key, let expected, let actual):
            "\(path): \(key) has shape \(actual); the module it adapts expects \(expected)"
        case .incompleteModule(let path, let key, let missing): "\(path): \(key) has no matching \(missing)"
        case .unsliceableAlgorithm(let path, let key, let algorithm, let module):
            "\(path): \(key) is a \(algorithm) tensor on \(module), which the pruned model narrows; only LoRA (B·A), "
                + "DoRA and full differences can be cut to pruned shapes"
        case .magnitudeOverRemovedUnits(let path, let key, let module, let removed):
            "\(path): \(key) is a DoRA magnitude normalised over the \(removed) of \(module), some of which the pruned model "
                + "removed; the sliced adapter cannot reproduce it"
        case .unsliceableDType(let path, let key, let dtype): "\(path): \(key) is stored as \(dtype), which cannot be sliced element by element"
        case .duplicateRole(let path, let key, let other): "\(path): \(key) and \(other) are the same tensor of one module"
        case .unsupportedSlice(let path, let key, let reason): "\(path): \(key) cannot be cut to the pruned shapes: \(reason)"
        case .unsupportedMerge(let path, let key, let reason): "\(path): \(key) cannot be merged: \(reason)"
        }
    }
}
