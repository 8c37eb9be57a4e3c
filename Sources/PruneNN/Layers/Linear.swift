import PruneTensor

/// `y = x · weightᵀ + bias` (`torch.nn.Linear`); keys `weight` `[out, in]` and `bias` `[out]`.
///
/// ``weight`` keeps a checkpoint's `float16`/`bfloat16` type (``linear(_:weight:bias:)`` widens it panel by panel);
/// ``bias`` is `float32`.
public struct Linear {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ scope: WeightScope, inFeatures: Int, outFeatures: Int, bias hasBias: Bool = true) {
        weight = scope.parameter(
            "weight", shape: [outFeatures, inFeatures], initialization: .fanInUniform(fanIn: inFeatures), keepsStoredType: true)
        bias = hasBias ? scope.parameter("bias", shape: [outFeatures], initialization: .fanInUniform(fanIn: inFeatures)) : nil
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// `[..., in]` → `[..., out]`, plus the low-rank term of an active ``LowRankAdapter`` on ``weight``.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let output = linear(x, weight: weight, bias: bias)
        guard let adapter = LowRankAdapters.active?.adapter(for: weight) else { return output }
        return output + linear(linear(x, weight: adapter.down), weight: adapter.up) * adapter.scale
    }
}

/// `torch.nn.Conv2d` with groups 1; keys `weight` `[out, in, k, k]` and `bias` `[out]`.
///
/// ``weight`` keeps a checkpoint's `float16`/`bfloat16` type (``conv2d(_:weight:bias:stride:padding:)`` widens it
/// for the call); ``bias`` is `float32`.
public struct Conv2d {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int

    public init(
        _ scope: WeightScope, inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        bias hasBias: Bool = true
    ) {
        let fanIn = inChannels * kernelSize * kernelSize
        weight = scope.parameter(
            "weight", shape: [outChannels, inChannels, kernelSize, kernelSize], initialization: .fanInUniform(fanIn: fanIn),
            keepsStoredType: true)
        bias = hasBias ? scope.parameter("bias", shape: [outChannels], initialization: .fanInUniform(fanIn: fanIn)) : nil
        self.stride = stride
        self.padding = padding
    }

    /// `[N, in, H, W]` → `[N, out, H', W']`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding))
    }
}
