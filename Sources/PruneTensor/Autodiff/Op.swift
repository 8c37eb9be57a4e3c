/// The element-wise functions of one input that the engine differentiates.
public enum UnaryFunction: String, Sendable, CaseIterable {
    case negate, exp, log, sqrt, rsqrt, reciprocal, abs, relu
    case sigmoid, tanh, silu, geluErf, geluTanh, softplus
}

/// Parameters of a 2-D convolution.
public struct Convolution2DParameters: Sendable, Equatable {
    /// Step between windows, `(vertical, horizontal)`.
    public var stride: (Int, Int)
    /// Zero padding added on each side, `(vertical, horizontal)`.
    public var padding: (Int, Int)

    public init(stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) {
        self.stride = stride
        self.padding = padding
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.stride == b.stride && a.padding == b.padding
    }
}

/// The operation that produced a recorded tensor, with the inputs and saved values its backward rule
/// needs. Every case has exactly one rule in `Backward.swift`.
public indirect enum Op: @unchecked Sendable {
    // Element-wise, broadcasting.
    case add(Tensor, Tensor)
    case subtract(Tensor, Tensor)
    case multiply(Tensor, Tensor)
    case divide(Tensor, Tensor)
    // Element-wise with a constant.
    case addScalar(Tensor)
    case multiplyScalar(Tensor, Float)
    case power(Tensor, exponent: Float)
    case clamp(Tensor, lower: Float, upper: Float)
    case unary(Tensor, UnaryFunction)
    // Reductions; `axes` are normalised and the output keeps or drops them as its shape shows.
    case sum(Tensor, axes: [Int])
    case mean(Tensor, axes: [Int])
    case max(Tensor, axes: [Int])
    // Shape.
    case reshape(Tensor)
    case contiguousCopy(Tensor)
    case permute(Tensor, order: [Int])
    case slice(Tensor, axis: Int, start: Int)
    case indexSelect(Tensor, axis: Int, indices: [Int])
    case concatenate([Tensor], axis: Int)
    case pad(Tensor, padding: [(before: Int, after: Int)])
    case upsampleNearest(Tensor)
    // Linear algebra and layers.
    case matmul(Tensor, Tensor)
    case linear(Tensor, weight: Tensor, bias: Tensor?)
    case conv2d(Tensor, weight: Tensor, bias: Tensor?, Convolution2DParameters)
    case groupNorm(Tensor, weight: Tensor?, bias: Tensor?, groups: Int, mean: Tensor, inverseStd: Tensor)
    case layerNorm(Tensor, weight: Tensor?, bias: Tensor?, mean: Tensor, inverseStd: Tensor)
    case rmsNorm(Tensor, weight: Tensor?, inverseRMS: Tensor)
    case softmax(Tensor)
    case logSoftmax(Tensor)
    case attention(query: Tensor, key: Tensor, value: Tensor, scale: Float, logSumExp: Tensor)
    case rotaryEmbedding(Tensor, cos: Tensor, sin: Tensor)
    case meanSquaredError(Tensor, Tensor)

    /// The tensors gradients can flow into, in the order the backward rule returns their gradients.
    public var inputs: [Tensor?] {
        switch self {
        case .add(let a, let b), .subtract(let a, let b), .multiply(let a, let b), .divide(let a, let b),
            .matmul(let a, let b), .meanSquaredError(let a, let b):
            return [a, b]
        case .addScalar(let x), .multiplyScalar(let x, _), .power(let x, _), .clamp(let x, _, _),
            .unary(let x, _), .sum(let x, _), .mean(let x, _), .max(let x, _), .reshape(let x),
            .contiguousCopy(let x), .permute(let x, _), .slice(let x, _, _), .indexSelect(let x, _, _),
            .pad(let x, _), .upsampleNearest(let x), .softmax(let x), .logSoftmax(let x):
            return [x]
        case .concatenate(let parts, _):
            return parts
        case .linear(let x, let weight, let bias), .conv2d(let x, let weight, let bias, _):
            return [x, weight, bias]
        case .groupNorm(let x, let weight, let bias, _, _, _), .layerNorm(let x, let weight, let bias, _, _):
            return [x, weight, bias]
        case .rmsNorm(let x, let weight, _):
            return [x, weight]
        case .attention(let q, let k, let v, _, _):
            return [q, k, v]
        case .rotaryEmbedding(let x, _, _):
            return [x]
        }
    }

    /// A name per differentiable operation (unary functions each count as their own), used to prove
    /// that every op has a gradient check.
    public var kind: OpKind {
        switch self {
        case .add: .add
        case .subtract: .subtract
        case .multiply: .multiply
        case .divide: .divide
        case .addScalar: .addScalar
        case .multiplyScalar: .multiplyScalar
        case .power: .power
        case .clamp: .clamp
        case .unary(_, let function): OpKind(rawValue: function.rawValue)!
        case .sum: .sum
        case .mean: .mean
        case .max: .max
        case .reshape: .reshape
        case .contiguousCopy: .contiguousCopy
        case .permute: .permute
        case .slice: .slice
        case .indexSelect: .indexSelect
        case .concatenate: .concatenate
        case .pad: .pad
        case .upsampleNearest: .upsampleNearest
        case .matmul: .matmul
        case .linear: .linear
        case .conv2d: .conv2d
        case .groupNorm: .groupNorm
        case .layerNorm: .layerNorm
        case .rmsNorm: .rmsNorm
        case .softmax: .softmax
        case .logSoftmax: .logSoftmax
        case .attention: .attention
        case .rotaryEmbedding: .rotaryEmbedding
        case .meanSquaredError: .meanSquaredError
        }
    }
}

/// Every differentiable operation of the engine by name.
public enum OpKind: String, Sendable, CaseIterable {
    case add, subtract, multiply, divide, addScalar, multiplyScalar, power, clamp
    case negate, exp, log, sqrt, rsqrt, reciprocal, abs, relu
    case sigmoid, tanh, silu, geluErf, geluTanh, softplus
    case sum, mean, max
    case reshape, contiguousCopy, permute, slice, indexSelect, concatenate, pad, upsampleNearest
    case matmul, linear, conv2d, groupNorm, layerNorm, rmsNorm, softmax, logSoftmax, attention
    case rotaryEmbedding, meanSquaredError
}

extension Tensor {
    /// Records `op` as the producer of `result` when recording is on and any input requires a gradient.
    @inline(__always)
    static func recorded(_ result: Tensor, from inputs: [Tensor?], _ op: @autoclosure () -> Op) -> Tensor {
        if GradientMode.isEnabled, inputs.contains(where: { $0?.requiresGradient == true }) {
            result.requiresGradient = true
            result.op = op()
        }
        return result
    }
}
