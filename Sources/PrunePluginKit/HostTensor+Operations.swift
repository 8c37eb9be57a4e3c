import CPrunePlugin

// The host's tensor operations on HostTensor. Each throws PluginFailure with the host's message when
// shapes do not fit (nothing traps).

extension HostTensor {
    private func unary(_ function: Int32, _ name: String) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make(name) { host.unary(handle, function, $0) }
    }

    private static func binary(_ a: HostTensor, _ b: HostTensor, _ operation: Int32, _ name: String) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try make(name) { host.binary(a.handle, b.handle, operation, $0) }
    }

    public static func + (a: HostTensor, b: HostTensor) throws(PluginFailure) -> HostTensor { try binary(a, b, PRUNE_BINARY_ADD, "add") }
    public static func - (a: HostTensor, b: HostTensor) throws(PluginFailure) -> HostTensor { try binary(a, b, PRUNE_BINARY_SUBTRACT, "subtract") }
    public static func * (a: HostTensor, b: HostTensor) throws(PluginFailure) -> HostTensor { try binary(a, b, PRUNE_BINARY_MULTIPLY, "multiply") }
    public static func / (a: HostTensor, b: HostTensor) throws(PluginFailure) -> HostTensor { try binary(a, b, PRUNE_BINARY_DIVIDE, "divide") }

    /// `self · scale + shift`.
    public func affine(scale: Float, shift: Float = 0) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("affine") { host.affine(handle, scale, shift, $0) }
    }
    public static func * (a: HostTensor, s: Float) throws(PluginFailure) -> HostTensor { try a.affine(scale: s) }
    public static func + (a: HostTensor, s: Float) throws(PluginFailure) -> HostTensor { try a.affine(scale: 1, shift: s) }

    public func negated() throws(PluginFailure) -> HostTensor { try unary(PRUNE_UNARY_NEGATE, "negate") }
    public func exp() throws(PluginFailure) -> HostTensor { try unary(PRUNE_UNARY_EXP, "exp") }
    public func sqrt() throws(PluginFailure) -> HostTensor { try unary(PRUNE_UNARY_SQRT, "sqrt") }
    public func abs() throws(PluginFailure) -> HostTensor { try unary(PRUNE_UNARY_ABS, "abs") }
    public func relu() throws(PluginFailure) -> HostTensor { try unary(PRUNE_UNARY_RELU, "relu") }
    public func sigmoid() throws(PluginFailure) -> HostTensor { try unary(PRUNE_UNARY_SIGMOID, "sigmoid") }
    public func tanh() throws(PluginFailure) -> HostTensor { try unary(PRUNE_UNARY_TANH, "tanh") }
    public func silu() throws(PluginFailure) -> HostTensor { try unary(PRUNE_UNARY_SILU, "silu") }
    /// GELU, exact (erf) or with PyTorch's tanh approximation.
    public func gelu(approximateWithTanh: Bool = false) throws(PluginFailure) -> HostTensor {
        try unary(approximateWithTanh ? PRUNE_UNARY_GELU_TANH : PRUNE_UNARY_GELU_ERF, "gelu")
    }

    /// `[..., m, k] · [..., k, n]`.
    public func matmul(_ other: HostTensor) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("matmul") { host.matmul(handle, other.handle, $0) }
    }

    /// `self [..., in] · weightᵀ [out, in] + bias [out]`.
    public func linear(weight: HostTensor, bias: HostTensor? = nil) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("linear") { host.linear(handle, weight.handle, bias?.handle, $0) }
    }

    /// 2-D convolution of `[N, C, H, W]` with `[O, C, kh, kw]`.
    public func conv2d(weight: HostTensor, bias: HostTensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("conv2d") {
            host.conv2d(handle, weight.handle, bias?.handle, Int32(stride.0), Int32(stride.1), Int32(padding.0), Int32(padding.1), $0)
        }
    }

    /// Group norm over `groups` groups of axis 1.
    public func groupNorm(groups: Int, weight: HostTensor? = nil, bias: HostTensor? = nil, epsilon: Float = 1e-5) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("group_norm") { host.group_norm(handle, Int32(groups), weight?.handle, bias?.handle, epsilon, $0) }
    }

    /// Layer norm over the last axis.
    public func layerNorm(weight: HostTensor? = nil, bias: HostTensor? = nil, epsilon: Float = 1e-5) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("layer_norm") { host.layer_norm(handle, weight?.handle, bias?.handle, epsilon, $0) }
    }

    /// RMS norm over the last axis.
    public func rmsNorm(weight: HostTensor? = nil, epsilon: Float = 1e-6) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("rms_norm") { host.rms_norm(handle, weight?.handle, epsilon, $0) }
    }

    /// Scaled-dot-product attention with `self` as the query `[B, H, Lq, D]`.
    public func attention(key: HostTensor, value: HostTensor, scale: Float? = nil) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("attention") { host.attention(handle, key.handle, value.handle, scale ?? 0, $0) }
    }

    /// Softmax along `axis`.
    public func softmax(axis: Int = -1) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("softmax") { host.softmax(handle, Int32(axis), $0) }
    }

    /// FLUX-style rotary embedding with `cos`, `sin` `[L, D]`.
    public func rotaryEmbedding(cos: HostTensor, sin: HostTensor) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("rotary_embedding") { host.rotary_embedding(handle, cos.handle, sin.handle, $0) }
    }

    /// Sum over `axes` (all when empty).
    public func sum(axes: [Int] = [], keepingDimensions: Bool = false) throws(PluginFailure) -> HostTensor {
        try reduce(PRUNE_REDUCE_SUM, axes: axes, keep: keepingDimensions)
    }

    /// Mean over `axes` (all when empty).
    public func mean(axes: [Int] = [], keepingDimensions: Bool = false) throws(PluginFailure) -> HostTensor {
        try reduce(PRUNE_REDUCE_MEAN, axes: axes, keep: keepingDimensions)
    }

    private func reduce(_ reduction: Int32, axes: [Int], keep: Bool) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        let list = axes.map(Int32.init)
        return try HostTensor.make("reduce") { host.reduce(handle, reduction, list, Int32(list.count), keep ? 1 : 0, $0) }
    }

    /// `mean((self − other)²)`.
    public func meanSquaredError(_ other: HostTensor) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("mean_squared_error") { host.mean_squared_error(handle, other.handle, $0) }
    }

    /// The same elements in `shape` (one extent may be −1).
    public func reshaped(_ shape: [Int]) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        let extents = shape.map(Int64.init)
        return try HostTensor.make("reshape to \(shape)") { host.reshape(handle, extents, Int32(shape.count), $0) }
    }

    /// Axis `i` of the result is axis `order[i]` of `self`.
    public func permuted(_ order: [Int]) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        let axes = order.map(Int32.init)
        return try HostTensor.make("permute \(order)") { host.permute(handle, axes, Int32(axes.count), $0) }
    }

    /// Elements `range` along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("slice") { host.slice(handle, Int32(axis), Int64(range.lowerBound), Int64(range.upperBound), $0) }
    }

    /// `parts` joined along `axis`.
    public static func concatenate(_ parts: [HostTensor], axis: Int) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        let handles: [prune_tensor?] = parts.map(\.handle)
        return try make("concat") { out in handles.withUnsafeBufferPointer { host.concat($0.baseAddress, Int32(parts.count), Int32(axis), out) } }
    }
}

/// Runs `body` with the host's gradient recording switched on or off.
public func withHostGradientMode(_ enabled: Bool, _ body: () throws -> Void) throws(PluginFailure) {
    let host = try Host.services()
    var failure: (any Error)?
    withoutActuallyEscaping(body) { body in
        var box = (body, failure)
        let status = withUnsafeMutablePointer(to: &box) { pointer in
            host.with_gradient_mode(enabled ? 1 : 0, { user in
                let box = user!.assumingMemoryBound(to: ((() throws -> Void), (any Error)?).self)
                do { try box.pointee.0() } catch { box.pointee.1 = error; return PRUNE_ERR_INTERNAL }
                return PRUNE_OK
            }, pointer)
        }
        failure = box.1
        _ = status
    }
    if let failure {
        if let pluginFailure = failure as? PluginFailure { throw pluginFailure }
        throw PluginFailure(status: PRUNE_ERR_INTERNAL, message: "\(failure)")
    }
}

extension HostTensor {
    /// Block `index` of a block list under its mask `mask` `[blocks]` (from `ForwardCallView.mask(listKey)`):
    /// `input + m·(output − input)` with `m = mask[index]` — at 0 the block is the identity, at 1 it is `output`.
    /// `m` multiplies as the one-element slice of the mask the host handed out, so the host's criteria that watch
    /// masked activations (`activation`) see the block's residual contribution. `nil` mask: `output`.
    /// - Parameters: `input` and `output` of the block, the same shape.
    public static func blockMasked(input: HostTensor, output: HostTensor, mask: HostTensor?, index: Int) throws(PluginFailure) -> HostTensor {
        guard let mask else { return output }
        return try input + (output - input) * mask.sliced(axis: 0, index..<(index + 1))
    }
}
