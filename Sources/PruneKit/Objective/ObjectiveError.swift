/// A problem with the inputs of ``EcoDiffObjective``.
public enum ObjectiveError: Error, Equatable, CustomStringConvertible {
    /// The reconstruction target does not have the final latent's shape.
    case targetShape(expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case .targetShape(let expected, let actual):
            "reconstruction target has shape \(actual), but the trajectory's final latent is \(expected)"
        }
    }
}
