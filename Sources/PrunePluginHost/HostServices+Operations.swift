import CPrunePlugin
import PruneTensor

// The tensor operations of the services table. Each one checks what the engine would otherwise
// `precondition` (ranks, extents, axes, broadcasting) and answers a bad call with PRUNE_ERR_SHAPE or
// PRUNE_ERR_INVALID_ARGUMENT and a last_error() text naming both shapes: a plugin's mistake must never
// trap the host.

extension HostServices {
    static func fillOperations(_ t: UnsafeMutablePointer<prune_host_services>) {
        t.pointee.unary = { x, function, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                let functions: [UnaryFunction] = [
                    .negate, .exp, .log, .sqrt, .rsqrt, .reciprocal, .abs, .relu, .sigmoid, .tanh, .silu, .geluErf, .geluTanh, .softplus,
                ]
                guard function >= 0, Int(function) < functions.count else {
                    throw ServiceFailure.invalidArgument("unknown unary function \(function)")
                }
                return x.applying(functions[Int(function)])
            }
        }
        t.pointee.binary = { a, b, operation, out in
            Service.produce(out) {
                let a = try Service.tensor(a, "a")
                let b = try Service.tensor(b, "b")
                try HostServices.requireBroadcastable(a.shape, b.shape, "binary")
                switch operation {
                case PRUNE_BINARY_ADD: return a + b
                case PRUNE_BINARY_SUBTRACT: return a - b
                case PRUNE_BINARY_MULTIPLY: return a * b
                case PRUNE_BINARY_DIVIDE: return a / b
                default: throw ServiceFailure.invalidArgument("unknown binary operation \(operation)")
                }
            }
        }
        t.pointee.affine = { x, scale, shift, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                let scaled = scale == 1 ? x : x * scale
                return shift == 0 ? scaled : scaled + shift
            }
        }
        t.pointee.matmul = { a, b, out in
            Service.produce(out) {
                let a = try Service.tensor(a, "a")
                let b = try Service.tensor(b, "b")
                guard a.rank >= 2, b.rank >= 2, a.shape[a.rank - 1] == b.shape[b.rank - 2] else {
                    throw ServiceFailure.shape("matmul: \(a.shape) · \(b.shape) (needs [..., m, k] · [..., k, n])")
                }
                try HostServices.requireBroadcastable(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)), "matmul batch axes")
                return matmul(a.contiguous(), b.contiguous())
            }
        }
        t.pointee.linear = { x, weight, bias, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                let weight = try Service.tensor(weight, "weight")
                let bias = try Service.optionalTensor(bias, "bias")
                guard weight.rank == 2, x.rank >= 1, x.shape.last == weight.shape[1] else {
                    throw ServiceFailure.shape("linear: input \(x.shape) with weight \(weight.shape) (needs [..., in] and [out, in])")
                }
                if let bias, bias.shape != [weight.shape[0]] {
                    throw ServiceFailure.shape("linear: bias \(bias.shape) for weight \(weight.shape) (needs [\(weight.shape[0])])")
                }
                return linear(x, weight: weight, bias: bias)
            }
        }
        t.pointee.conv2d = { x, weight, bias, strideY, strideX, padY, padX, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                let weight = try Service.tensor(weight, "weight")
                let bias = try Service.optionalTensor(bias, "bias")
                guard x.rank == 4, weight.rank == 4, x.shape[1] == weight.shape[1] else {
                    throw ServiceFailure.shape("conv2d: input \(x.shape) with weight \(weight.shape) (needs [N, C, H, W] and [O, C, kh, kw])")
                }
                guard strideY > 0, strideX > 0, padY >= 0, padX >= 0 else {
                    throw ServiceFailure.invalidArgument("conv2d: stride (\(strideY), \(strideX)) must be positive, padding (\(padY), \(padX)) non-negative")
                }
                guard x.shape[2] + 2 * Int(padY) >= weight.shape[2], x.shape[3] + 2 * Int(padX) >= weight.shape[3] else {
                    throw ServiceFailure.shape("conv2d: kernel \(weight.shape) is larger than the padded input \(x.shape)")
                }
                if let bias, bias.shape != [weight.shape[0]] {
                    throw ServiceFailure.shape("conv2d: bias \(bias.shape) for weight \(weight.shape)")
                }
                return conv2d(x, weight: weight, bias: bias, stride: (Int(strideY), Int(strideX)), padding: (Int(padY), Int(padX)))
            }
        }
        t.pointee.group_norm = { x, groups, weight, bias, epsilon, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                guard x.rank >= 2, groups > 0, x.shape[1] % Int(groups) == 0 else {
                    throw ServiceFailure.shape("group_norm: \(groups) groups for input \(x.shape) (needs [N, C, …] with C divisible)")
                }
                let weight = try HostServices.affineOperand(weight, "weight", width: x.shape[1], op: "group_norm")
                let bias = try HostServices.affineOperand(bias, "bias", width: x.shape[1], op: "group_norm")
                return groupNorm(x, groups: Int(groups), weight: weight, bias: bias, epsilon: epsilon)
            }
        }
        t.pointee.layer_norm = { x, weight, bias, epsilon, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                guard x.rank >= 1 else { throw ServiceFailure.shape("layer_norm needs rank ≥ 1, got a scalar") }
                let weight = try HostServices.affineOperand(weight, "weight", width: x.shape[x.rank - 1], op: "layer_norm")
                let bias = try HostServices.affineOperand(bias, "bias", width: x.shape[x.rank - 1], op: "layer_norm")
                return layerNorm(x, weight: weight, bias: bias, epsilon: epsilon)
            }
        }
        t.pointee.rms_norm = { x, weight, epsilon, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                guard x.rank >= 1 else { throw ServiceFailure.shape("rms_norm needs rank ≥ 1, got a scalar") }
                let weight = try HostServices.affineOperand(weight, "weight", width: x.shape[x.rank - 1], op: "rms_norm")
                return rmsNorm(x, weight: weight, epsilon: epsilon)
            }
        }
        t.pointee.attention = { query, key, value, scale, out in
            Service.produce(out) {
                let q = try Service.tensor(query, "query")
                let k = try Service.tensor(key, "key")
                let v = try Service.tensor(value, "value")
                guard q.rank == 4, k.rank == 4, v.rank == 4, k.shape[0] == q.shape[0], k.shape[1] == q.shape[1], k.shape[3] == q.shape[3],
                    v.shape[0] == q.shape[0], v.shape[1] == q.shape[1], v.shape[2] == k.shape[2]
                else {
                    throw ServiceFailure.shape("attention: query \(q.shape), key \(k.shape), value \(v.shape) (needs [B, H, Lq, D], [B, H, Lk, D], [B, H, Lk, Dv])")
                }
                guard q.count > 0, k.count > 0, v.count > 0 else {
                    throw ServiceFailure.shape("attention: empty operand (query \(q.shape), key \(k.shape)); skip attention for zero heads")
                }
                return scaledDotProductAttention(query: q, key: k, value: v, scale: scale > 0 ? scale : nil)
            }
        }
        t.pointee.softmax = { x, axis, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                return x.softmax(axis: try Service.axis(axis, rank: x.rank, "softmax"))
            }
        }
        t.pointee.rotary_embedding = { x, cos, sin, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                let cos = try Service.tensor(cos, "cos")
                let sin = try Service.tensor(sin, "sin")
                guard x.rank == 4, x.shape[3] % 2 == 0, cos.shape == [x.shape[2], x.shape[3]], sin.shape == cos.shape else {
                    throw ServiceFailure.shape("rotary_embedding: input \(x.shape), cos \(cos.shape), sin \(sin.shape) (needs [B, H, L, D] with even D and [L, D])")
                }
                return applyRotaryEmbedding(x.contiguous(), cos: cos.contiguous(), sin: sin.contiguous())
            }
        }
        t.pointee.reduce = { x, reduction, axes, axisCount, keep, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                guard axisCount >= 0, axisCount <= PRUNE_MAX_RANK, axisCount == 0 || axes != nil else {
                    throw ServiceFailure.invalidArgument("reduce: \(axisCount) axes")
                }
                let resolved = try (0..<Int(axisCount)).map { try Service.axis(axes![$0], rank: x.rank, "reduce") }
                guard Set(resolved).count == resolved.count else { throw ServiceFailure.invalidArgument("reduce: repeated axes \(resolved)") }
                let list: [Int]? = resolved.isEmpty ? nil : resolved
                switch reduction {
                case PRUNE_REDUCE_SUM: return x.sum(axes: list, keepingDimensions: keep != 0)
                case PRUNE_REDUCE_MEAN: return x.mean(axes: list, keepingDimensions: keep != 0)
                default: throw ServiceFailure.invalidArgument("unknown reduction \(reduction)")
                }
            }
        }
        t.pointee.mean_squared_error = { a, b, out in
            Service.produce(out) {
                let a = try Service.tensor(a, "a")
                let b = try Service.tensor(b, "b")
                guard a.shape == b.shape else { throw ServiceFailure.shape("mean_squared_error: shapes \(a.shape) and \(b.shape) differ") }
                return meanSquaredError(a, b)
            }
        }
        t.pointee.reshape = { x, shape, rank, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                let shape = try Service.shape(shape, rank, allowWildcard: true)
                let known = shape.filter { $0 != -1 }.reduce(1, *)
                let fits = shape.contains(-1) ? (known > 0 && x.count % known == 0) : known == x.count
                guard fits else { throw ServiceFailure.shape("reshape: \(x.shape) (\(x.count) elements) cannot become \(shape)") }
                return x.reshaped(shape)
            }
        }
        t.pointee.permute = { x, order, rank, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                guard Int(rank) == x.rank, rank == 0 || order != nil else {
                    throw ServiceFailure.shape("permute: \(rank) axes for a rank-\(x.rank) tensor")
                }
                let resolved = try (0..<Int(rank)).map { try Service.axis(order![$0], rank: x.rank, "permute") }
                guard Set(resolved).count == x.rank else { throw ServiceFailure.invalidArgument("permute: \(resolved) is not a permutation") }
                return x.permuted(resolved)
            }
        }
        t.pointee.concat = { tensors, count, axis, out in
            Service.produce(out) {
                guard count >= 1, let tensors else { throw ServiceFailure.invalidArgument("concat needs at least one tensor") }
                let parts = try (0..<Int(count)).map { try Service.tensor(tensors[$0], "tensors[\($0)]") }
                let first = parts[0]
                let a = try Service.axis(axis, rank: first.rank, "concat")
                for (index, part) in parts.enumerated()
                where part.rank != first.rank || part.shape.indices.contains(where: { $0 != a && part.shape[$0] != first.shape[$0] }) {
                    throw ServiceFailure.shape("concat: tensors[\(index)] \(part.shape) does not fit \(first.shape) along axis \(a)")
                }
                return concatenate(parts, axis: a)
            }
        }
        t.pointee.slice = { x, axis, start, end, out in
            Service.produce(out) {
                let x = try Service.tensor(x, "x")
                let a = try Service.axis(axis, rank: x.rank, "slice")
                guard start >= 0, start <= end, Int(end) <= x.shape[a] else {
                    throw ServiceFailure.shape("slice: [\(start), \(end)) along axis \(a) of \(x.shape)")
                }
                return x.sliced(axis: a, Int(start)..<Int(end))
            }
        }
    }

    /// Throws unless NumPy broadcasting can join `a` and `b`.
    static func requireBroadcastable(_ a: [Int], _ b: [Int], _ what: String) throws {
        for offset in 1...max(max(a.count, b.count), 1) {
            let x = offset <= a.count ? a[a.count - offset] : 1
            let y = offset <= b.count ? b[b.count - offset] : 1
            guard x == y || x == 1 || y == 1 else { throw ServiceFailure.shape("\(what): shapes \(a) and \(b) do not broadcast") }
        }
    }

    /// An optional `[width]` weight or bias of a normalisation.
    static func affineOperand(_ handle: prune_tensor?, _ name: String, width: Int, op: String) throws -> Tensor? {
        guard let tensor = try Service.optionalTensor(handle, name) else { return nil }
        guard tensor.shape == [width] else { throw ServiceFailure.shape("\(op): \(name) \(tensor.shape), expected [\(width)]") }
        return tensor
    }
}
