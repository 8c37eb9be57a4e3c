/// A problem with an optimizer state handed to ``AdamW/load(_:)``.
public enum OptimizerStateError: Error, Equatable, CustomStringConvertible {
    case negativeStep(Int)
    /// A tensor name that is not a moment of a parameter of this optimizer.
    case unknown(name: String)
    case shape(name: String, expected: [Int], actual: [Int])
    /// Only one of the two moments of a parameter was given.
    case incomplete(parameter: String)

    public var description: String {
        switch self {
        case .negativeStep(let step): "optimizer state has a negative step count \(step)"
        case .unknown(let name): "optimizer state entry \(name) matches no parameter"
        case .shape(let name, let expected, let actual): "optimizer state entry \(name) has shape \(actual), expected \(expected)"
        case .incomplete(let parameter): "optimizer state has only one of the two moments of \(parameter)"
        }
    }
}
