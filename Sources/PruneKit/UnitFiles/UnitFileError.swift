/// A masks or scores file that does not fit the model; each case names the file and the tensor, and says
/// what was expected.
public enum UnitFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file cannot be opened or parsed as safetensors, or a tensor in it cannot be read (`reason` is the
    /// reader's one-line error, which names the file).
    case unreadable(path: String, reason: String)
    /// The file holds no tensor under the expected prefix (`found`: up to five of the tensors it does hold).
    case noUnits(path: String, expected: String, found: [String])
    /// A `mask.<key>`/`score.<key>` tensor whose key is no maskable module of the model (`moduleCount` of them);
    /// `closest` is the nearest tensor name that would be one.
    case unknownModule(path: String, tensor: String, closest: String?, moduleCount: Int)
    /// A tensor outside the expected prefix; `closest` is the tensor name that was probably meant.
    case unexpectedTensor(path: String, tensor: String, expected: String, closest: String?)
    /// A scores file holding both `mask.` and `score.` tensors.
    case mixedPrefixes(path: String, first: String, second: String)
    /// A tensor whose shape is not `[units]` of its module.
    case shape(path: String, tensor: String, expected: [Int], actual: [Int])
    /// A mask value other than 0 or 1.
    case notBinary(path: String, tensor: String, unit: Int, value: Float)
    /// A NaN score.
    case nanScore(path: String, tensor: String, unit: Int)

    public var description: String {
        switch self {
        case .unreadable(_, let reason):
            return reason
        case .noUnits(let path, let expected, let found):
            let holds = found.isEmpty ? "no tensors" : "only " + found.joined(separator: ", ")
            return "\(path): holds no \(expected) tensors (it holds \(holds)); the file needs one [units] tensor per maskable module"
        case .unknownModule(let path, let tensor, let closest, let count):
            let hint = closest.map { "; closest: \($0)" } ?? ""
            return "\(path): \(tensor) names no maskable module of the model (it has \(count))\(hint)"
        case .unexpectedTensor(let path, let tensor, let expected, let closest):
            let hint = closest.map { "; did you mean \($0)?" } ?? ""
            let scores = tensor.hasPrefix(UnitFile.scorePrefix) ? " (a score: rank with the file as scores instead)" : ""
            return "\(path): tensor \(tensor) is not \(expected)\(scores)\(hint)"
        case .mixedPrefixes(let path, let first, let second):
            return "\(path): holds both \(first) and \(second); a scores file holds either score.<module key> or mask.<module key> tensors"
        case .shape(let path, let tensor, let expected, let actual):
            return "\(path): \(tensor) has shape \(actual), expected \(expected) (one value per unit of the module)"
        case .notBinary(let path, let tensor, let unit, let value):
            return "\(path): \(tensor) unit \(unit) is \(value); masks must be 0 (remove) or 1 (keep). "
                + "To rank units by these values, read the file as scores (prunekit prune --scores FILE --target …)"
        case .nanScore(let path, let tensor, let unit):
            return "\(path): \(tensor) unit \(unit) is NaN"
        }
    }
}
