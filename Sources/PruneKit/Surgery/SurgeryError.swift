/// Errors from selecting units or slicing parameters: each names the module, key and sizes involved.
public enum SurgeryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A selection or mask names a module that no unit group describes.
    case unknownModule(String)
    /// Two unit groups share one module key.
    case duplicateModule(String)
    /// A kept unit index is not in `0..<unitCount`.
    case keptIndexOutOfRange(module: String, index: Int, unitCount: Int)
    /// A mask does not have the module's `[unitCount]` shape.
    case maskShape(module: String, expected: [Int], actual: [Int])
    /// A slice of `module` names a parameter the model does not have.
    case missingParameter(key: String, module: String)
    /// A slice of `module` addresses an axis the parameter does not have.
    case axisOutOfRange(key: String, axis: Int, shape: [Int], module: String)
    /// A unit's entries `range` along `axis` reach past the parameter's extent.
    case sliceOutOfBounds(key: String, axis: Int, range: Range<Int>, extent: Int, module: String)
    /// A tensor handed to ``ParameterSurgery/apply(to:)`` does not have the shape the surgery was planned with.
    case shapeMismatch(key: String, planned: [Int], actual: [Int])
    /// A block group lists tensors for `lists` blocks but has `units` units.
    case blockTensors(module: String, lists: Int, units: Int)
    /// A block group's unit claims a tensor outside its block's key prefix.
    case blockTensorOutside(key: String, module: String, prefix: String)

    public var description: String {
        switch self {
        case .unknownModule(let module): "no unit group has the module key \(module)"
        case .duplicateModule(let module): "two unit groups have the module key \(module)"
        case .keptIndexOutOfRange(let module, let index, let count):
            "\(module): kept unit \(index) is out of range 0..<\(count)"
        case .maskShape(let module, let expected, let actual): "\(module): mask must be \(expected), got \(actual)"
        case .missingParameter(let key, let module): "\(module): parameter \(key) does not exist"
        case .axisOutOfRange(let key, let axis, let shape, let module): "\(module): \(key) \(shape) has no axis \(axis)"
        case .sliceOutOfBounds(let key, let axis, let range, let extent, let module):
            "\(module): entries \(range) of \(key) along axis \(axis) exceed its extent \(extent)"
        case .shapeMismatch(let key, let planned, let actual): "\(key): surgery planned for shape \(planned), got \(actual)"
        case .blockTensors(let module, let lists, let units): "\(module): tensor lists for \(lists) blocks, but \(units) blocks"
        case .blockTensorOutside(let key, let module, let prefix): "\(module): block tensor \(key) does not start with \(prefix)"
        }
    }
}
