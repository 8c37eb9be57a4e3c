import CPrunePlugin

/// A tensor that lives in the host, reached through an owned `prune_tensor` handle that is released
/// when this object goes away. Operations call the host's services, so they are recorded on the host's
/// autodiff tape exactly like the host's own layers.
///
/// ```swift
/// let hidden = try x.linear(weight: up, bias: upBias).gelu(approximateWithTanh: true)
/// let output = try (hidden * mask.reshaped([1, 1, -1])).linear(weight: down, bias: downBias)
/// ```
public final class HostTensor {
    /// The owned handle.
    public let handle: prune_tensor

    /// Takes ownership of `handle`.
    public init(owning handle: prune_tensor) { self.handle = handle }

    deinit { _ = Host.table?.pointee.tensor_release(handle) }

    /// Calls a host function that writes one new tensor to its `out` argument.
    static func make(_ what: @autoclosure () -> String, _ call: (UnsafeMutablePointer<prune_tensor?>) -> prune_status) throws(PluginFailure) -> HostTensor {
        var out: prune_tensor?
        let status = call(&out)
        try Host.check(status, what())
        guard let out else { throw PluginFailure(status: PRUNE_ERR_INTERNAL, message: "\(what()): the host returned no tensor") }
        return HostTensor(owning: out)
    }

    // MARK: Creating

    /// A host tensor holding `values` in `shape`.
    public convenience init(_ values: [Float], shape: [Int], requiresGradient: Bool = false) throws(PluginFailure) {
        let extents = shape.map(Int64.init)
        let host = try Host.services()
        let made = try HostTensor.make("tensor_create \(shape)") { out in
            values.withUnsafeBufferPointer { buffer in
                host.tensor_create(buffer.baseAddress, Int64(values.count), extents, Int32(shape.count), requiresGradient ? 1 : 0, out)
            }
        }
        self.init(owning: try made.retainedHandle())
    }

    /// `shape` filled with `value`.
    public static func full(_ shape: [Int], value: Float) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        let extents = shape.map(Int64.init)
        return try make("tensor_full \(shape)") { host.tensor_full(extents, Int32(shape.count), value, $0) }
    }

    /// Standard-normal values drawn with the host's generator from `seed`.
    public static func randomNormal(_ shape: [Int], seed: UInt64) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        let extents = shape.map(Int64.init)
        return try make("tensor_random_normal \(shape)") { host.tensor_random_normal(extents, Int32(shape.count), seed, $0) }
    }

    /// A second owned handle to this tensor (to hand to the host as an output).
    public func retainedHandle() throws(PluginFailure) -> prune_tensor {
        var out: prune_tensor?
        try Host.check(try Host.services().tensor_retain(handle, &out), "tensor_retain")
        return out!
    }

    // MARK: Inspecting

    /// The extents.
    public var shape: [Int] {
        get throws(PluginFailure) {
            var extents = [Int64](repeating: 0, count: Int(PRUNE_MAX_RANK))
            var rank: Int32 = 0
            try Host.check(try Host.services().tensor_shape(handle, &extents, PRUNE_MAX_RANK, &rank), "tensor_shape")
            return extents.prefix(Int(rank)).map(Int.init)
        }
    }

    /// A copy of the values in row-major order.
    public func values() throws(PluginFailure) -> [Float] {
        let count = try shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        let host = try Host.services()
        let status = values.withUnsafeMutableBufferPointer { host.tensor_read(handle, $0.baseAddress, Int64(count)) }
        try Host.check(status, "tensor_read")
        return values
    }

    // MARK: Autodiff

    /// Back-propagates from this one-element tensor.
    public func backward() throws(PluginFailure) { try Host.check(try Host.services().backward(handle), "backward") }
    /// The accumulated gradient of this leaf, or `nil` when none arrived.
    public func gradient() throws(PluginFailure) -> HostTensor? {
        var out: prune_tensor?
        try Host.check(try Host.services().gradient(handle, &out), "gradient")
        return out.map(HostTensor.init(owning:))
    }
    /// Clears the accumulated gradient.
    public func zeroGradient() throws(PluginFailure) { try Host.check(try Host.services().zero_gradient(handle), "zero_gradient") }
    /// The same values, cut from the tape.
    public func detached() throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("detach") { host.detach(handle, $0) }
    }
}
