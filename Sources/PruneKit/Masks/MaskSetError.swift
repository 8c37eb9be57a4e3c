/// A problem with λ values handed to a ``MaskSet``.
public enum MaskSetError: Error, Equatable, CustomStringConvertible {
    case missing(module: String)
    case shape(module: String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case .missing(let module): "no λ for mask module \(module)"
        case .shape(let module, let expected, let actual): "λ of \(module) has shape \(actual), expected \(expected)"
        }
    }
}
