import PruneTensor

/// An ``AdamW`` state ready for a safetensors file: the moments as tensors named
/// `exp_avg.<parameter key>` and `exp_avg_sq.<parameter key>` (PyTorch's state names), and the step count
/// (store it in the file's metadata; float32 cannot hold every step count exactly).
public struct AdamWState: @unchecked Sendable {
    public var stepCount: Int
    public var tensors: [String: Tensor]

    public init(stepCount: Int, tensors: [String: Tensor]) {
        self.stepCount = stepCount
        self.tensors = tensors
    }

    /// Name prefix of first-moment tensors.
    public static let firstMomentPrefix = "exp_avg."
    /// Name prefix of second-moment tensors.
    public static let secondMomentPrefix = "exp_avg_sq."
}

extension AdamW {
    /// A copy of the moments and the step count (parameters that never had a gradient have no entries).
    public var state: AdamWState {
        var tensors: [String: Tensor] = [:]
        for (key, m) in firstMoments { tensors[AdamWState.firstMomentPrefix + key] = m.converted(to: .float32) }
        for (key, v) in secondMoments { tensors[AdamWState.secondMomentPrefix + key] = v.converted(to: .float32) }
        return AdamWState(stepCount: stepCount, tensors: tensors)
    }

    /// Replaces the moments and step count with `state` (copied). Entries for keys this optimizer does not
    /// have are an error; parameters without entries start from zero moments.
    /// - Throws: ``OptimizerStateError`` for a negative step, an unknown key, a mis-shaped moment, or a
    ///   parameter with only one of its two moments.
    public mutating func load(_ state: AdamWState) throws(OptimizerStateError) {
        guard state.stepCount >= 0 else { throw .negativeStep(state.stepCount) }
        var shapes: [String: [Int]] = [:]
        for group in groups { for parameter in group.parameters { shapes[parameter.key] = parameter.tensor.shape } }
        var first: [String: Tensor] = [:]
        var second: [String: Tensor] = [:]
        for (name, tensor) in state.tensors {
            let key: String
            let isSecond: Bool
            if name.hasPrefix(AdamWState.secondMomentPrefix) {
                key = String(name.dropFirst(AdamWState.secondMomentPrefix.count))
                isSecond = true
            } else if name.hasPrefix(AdamWState.firstMomentPrefix) {
                key = String(name.dropFirst(AdamWState.firstMomentPrefix.count))
                isSecond = false
            } else {
                throw .unknown(name: name)
            }
            guard let shape = shapes[key] else { throw .unknown(name: name) }
            guard tensor.shape == shape else { throw .shape(name: name, expected: shape, actual: tensor.shape) }
            if isSecond { second[key] = tensor.converted(to: .float32) } else { first[key] = tensor.converted(to: .float32) }
        }
        for key in Set(first.keys).symmetricDifference(second.keys).sorted() {
            throw .incomplete(parameter: key)
        }
        firstMoments = first
        secondMoments = second
        stepCount = state.stepCount
    }
}
