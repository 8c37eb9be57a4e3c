// 2-D convolution by im2col + sgemm, with its backward pass.

/// The geometry of one convolution: input `[N, C, H, W]`, weight `[O, C, kh, kw]`.
struct ConvolutionGeometry {
    let batch, inChannels, height, width: Int
    let outChannels, kernelHeight, kernelWidth: Int
    let strideY, strideX, padY, padX: Int
    var outHeight: Int { (height + 2 * padY - kernelHeight) / strideY + 1 }
    var outWidth: Int { (width + 2 * padX - kernelWidth) / strideX + 1 }
    /// Rows of the im2col matrix: `C · kh · kw`.
    var patchSize: Int { inChannels * kernelHeight * kernelWidth }
    /// Columns of the im2col matrix: output positions per image.
    var positions: Int { outHeight * outWidth }
    /// True when im2col would be the identity (1×1 kernel, stride 1, no padding).
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideY == 1 && strideX == 1 && padY == 0 && padX == 0
    }

    init(input: [Int], weight: [Int], parameters: Convolution2DParameters) {
        precondition(input.count == 4 && weight.count == 4, "conv2d needs [N,C,H,W] and [O,C,kh,kw]")
        precondition(input[1] == weight[1], "conv2d: input has \(input[1]) channels, weight expects \(weight[1])")
        (batch, inChannels, height, width) = (input[0], input[1], input[2], input[3])
        (outChannels, kernelHeight, kernelWidth) = (weight[0], weight[2], weight[3])
        (strideY, strideX) = parameters.stride
        (padY, padX) = parameters.padding
        precondition(strideY > 0 && strideX > 0 && padY >= 0 && padX >= 0, "conv2d: bad stride or padding")
        precondition(outHeight > 0 && outWidth > 0, "conv2d: kernel larger than padded input")
    }

    /// Writes the patches of one image `[C, H, W]` into `columns` `[C·kh·kw, Ho·Wo]`.
    func im2col(_ image: UnsafePointer<Float>, _ columns: UnsafeMutablePointer<Float>) {
        let (oh, ow) = (outHeight, outWidth)
        ComputeThreads.parallelFor(patchSize, grain: Swift.max(1, 8192 / Swift.max(positions, 1))) { rows in
            for row in rows {
                let c = row / (kernelHeight * kernelWidth)
                let ky = (row / kernelWidth) % kernelHeight
                let kx = row % kernelWidth
                let plane = image + c * height * width
                let out = columns + row * oh * ow
                for y in 0..<oh {
                    let iy = y * strideY - padY + ky
                    let line = out + y * ow
                    if iy < 0 || iy >= height {
                        line.update(repeating: 0, count: ow)
                        continue
                    }
                    let source = plane + iy * width
                    if strideX == 1 {
                        // Zeros left and right of the image, one straight copy in between.
                        let shift = kx - padX
                        let (x0, x1) = (Swift.min(Swift.max(0, -shift), ow), Swift.max(Swift.min(ow, width - shift), 0))
                        if x1 <= x0 {
                            line.update(repeating: 0, count: ow)
                            continue
                        }
                        if x0 > 0 { line.update(repeating: 0, count: x0) }
                        (line + x0).update(from: source + x0 + shift, count: x1 - x0)
                        if x1 < ow { (line + x1).update(repeating: 0, count: ow - x1) }
                    } else {
                        for x in 0..<ow {
                            let ix = x * strideX - padX + kx
                            line[x] = (ix >= 0 && ix < width) ? source[ix] : 0
                        }
                    }
                }
            }
        }
    }

    /// Adds the columns `[C·kh·kw, Ho·Wo]` back onto one image gradient `[C, H, W]` (the adjoint of im2col).
    func col2im(_ columns: UnsafePointer<Float>, _ image: UnsafeMutablePointer<Float>) {
        let (oh, ow) = (outHeight, outWidth)
        let taps = kernelHeight * kernelWidth
        ComputeThreads.parallelFor(inChannels, grain: 1) { channels in
            for c in channels {
                let plane = image + c * height * width
                for tap in 0..<taps {
                    let (ky, kx) = (tap / kernelWidth, tap % kernelWidth)
                    let source = columns + (c * taps + tap) * oh * ow
                    for y in 0..<oh {
                        let iy = y * strideY - padY + ky
                        if iy < 0 || iy >= height { continue }
                        let line = source + y * ow
                        let target = plane + iy * width
                        if strideX == 1 {
                            // Only the columns that land inside the image; a branch-free, vectorisable loop.
                            let shift = kx - padX
                            let (x0, x1) = (Swift.max(0, -shift), Swift.min(ow, width - shift))
                            if x0 < x1 { for x in x0..<x1 { target[x + shift] += line[x] } }
                            continue
                        }
                        for x in 0..<ow {
                            let ix = x * strideX - padX + kx
                            if ix >= 0 && ix < width { target[ix] += line[x] }
                        }
                    }
                }
            }
        }
    }
}

/// 2-D cross-correlation as `torch.nn.functional.conv2d` (groups 1, dilation 1).
///
/// - Parameters:
///   - input: `[N, C, H, W]`.
///   - weight: `[O, C, kh, kw]`.
///   - bias: `[O]` or `nil`.
/// - Returns: `[N, O, Ho, Wo]` with `Ho = (H + 2·padY − kh) / strideY + 1`.
public func conv2d(
    _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
    padding: (Int, Int) = (0, 0)
) -> Tensor {
    let parameters = Convolution2DParameters(stride: stride, padding: padding)
    let geometry = ConvolutionGeometry(input: input.shape, weight: weight.shape, parameters: parameters)
    if let bias { precondition(bias.shape == [geometry.outChannels], "conv2d bias must be [\(geometry.outChannels)]") }
    let xContiguous = input.contiguousWithoutRecording()
    defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
    let x = xContiguous.basePointer
    let wContiguous = weight.contiguousWithoutRecording()
    defer { withExtendedLifetime(wContiguous) {} }  // `w` points into it
    let w = wContiguous.basePointer
    let (positions, patch) = (geometry.positions, geometry.patchSize)
    let result = Tensor(
        storage: Storage(uninitializedCount: geometry.batch * geometry.outChannels * positions),
        shape: [geometry.batch, geometry.outChannels, geometry.outHeight, geometry.outWidth])
    let y = result.basePointer
    let imageSize = geometry.inChannels * geometry.height * geometry.width
    let outputSize = geometry.outChannels * positions
    let bContiguous = bias?.contiguousWithoutRecording()
    defer { withExtendedLifetime(bContiguous) {} }  // `b` points into it
    /// Convolves every image, lowering through `columns` `[C·kh·kw, Ho·Wo]` (nil for a pointwise kernel).
    func convolveImages(columns: UnsafeMutablePointer<Float>?) {
        for n in 0..<geometry.batch {
            let out = y + n * outputSize
            var beta: Float = 0
            if let b = bContiguous?.basePointer {
                for o in 0..<geometry.outChannels { (out + o * positions).update(repeating: b[o], count: positions) }
                beta = 1
            }
            let patches: UnsafeMutablePointer<Float>
            if let columns {
                geometry.im2col(x + n * imageSize, columns)
                patches = columns
            } else {
                patches = x + n * imageSize
            }
            Kernels.gemm(
                Kernels.operand(w, leadingDimension: patch), Kernels.operand(patches, leadingDimension: positions), out,
                m: geometry.outChannels, n: positions, k: patch, beta: beta)
        }
    }
    if geometry.isPointwise {
        convolveImages(columns: nil)
    } else {
        ScratchBuffer.withFloats(patch * positions) { convolveImages(columns: $0) }
    }
    return Tensor.recorded(
        result, from: [input, weight, bias], .conv2d(input, weight: weight, bias: bias, parameters))
}

extension Kernels {
    /// Gradients of ``conv2d(_:weight:bias:stride:padding:)`` with respect to the input, weight and bias
    /// (each only when `needs` says so).
    static func conv2dBackward(
        input: Tensor, weight: Tensor, parameters: Convolution2DParameters, gradient: Tensor,
        needs: (input: Bool, weight: Bool, bias: Bool)
    ) -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
        let geometry = ConvolutionGeometry(input: input.shape, weight: weight.shape, parameters: parameters)
        let (positions, patch, outChannels) = (geometry.positions, geometry.patchSize, geometry.outChannels)
        let xContiguous = input.contiguousWithoutRecording()
        defer { withExtendedLifetime(xContiguous) {} }  // `x` points into it
        let x = xContiguous.basePointer
        let wContiguous = weight.contiguousWithoutRecording()
        defer { withExtendedLifetime(wContiguous) {} }  // `w` points into it
        let w = wContiguous.basePointer
        let gContiguous = gradient.contiguousWithoutRecording()
        defer { withExtendedLifetime(gContiguous) {} }  // `g` points into it
        let g = gContiguous.basePointer
        let inputGradient = needs.input ? Tensor.zeros(input.shape) : nil
        let weightGradient = needs.weight ? Tensor.zeros(weight.shape) : nil
        /// Accumulates both gradients image by image, lowering through `columns` `[C·kh·kw, Ho·Wo]`.
        func accumulate(columns: UnsafeMutablePointer<Float>) {
            let imageSize = geometry.inChannels * geometry.height * geometry.width
            for n in 0..<geometry.batch {
                let gradientOfImage = g + n * outChannels * positions
                if let weightGradient {
                    // dW[O, CKK] += dY[O, P] · colsᵀ[P, CKK]
                    let patches: UnsafeMutablePointer<Float>
                    if geometry.isPointwise {
                        patches = x + n * imageSize
                    } else {
                        geometry.im2col(x + n * imageSize, columns)
                        patches = columns
                    }
                    gemm(
                        operand(gradientOfImage, leadingDimension: positions),
                        operand(patches, leadingDimension: positions, transpose: true), weightGradient.basePointer,
                        m: outChannels, n: patch, k: positions, beta: 1)
                }
                if let inputGradient {
                    // dcols[CKK, P] = Wᵀ[CKK, O] · dY[O, P], then col2im.
                    let target = inputGradient.basePointer + n * imageSize
                    if geometry.isPointwise {
                        gemm(
                            operand(w, leadingDimension: patch, transpose: true),
                            operand(gradientOfImage, leadingDimension: positions), target,
                            m: patch, n: positions, k: outChannels)
                    } else {
                        gemm(
                            operand(w, leadingDimension: patch, transpose: true),
                            operand(gradientOfImage, leadingDimension: positions), columns,
                            m: patch, n: positions, k: outChannels)
                        geometry.col2im(columns, target)
                    }
                }
            }
        }
        // A pointwise kernel needs no im2col matrix.
        ScratchBuffer.withFloats(geometry.isPointwise ? 1 : patch * positions) { accumulate(columns: $0) }
        var biasGradient: Tensor?
        if needs.bias {
            // Sum over batch and positions: reduce [N, O, P] over axes 0 and 2.
            let reshaped = gradient.reshapedWithoutRecording([geometry.batch, outChannels, positions])
            biasGradient = reduce(reshaped, axes: [0, 2], keepingDimensions: false, kind: .sum)
        }
        return (inputGradient, weightGradient, biasGradient)
    }
}
