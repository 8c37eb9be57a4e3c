import PruneTensor
import Testing

// The tape: what gets recorded, where gradients go, and what backward frees.

@Suite("Autodiff tape")
struct AutodiffTapeTests {
    @Test("gradients accumulate when one tensor is used twice")
    func usedTwice() {
        // d(x·x)/dx = 2x; d(x + x)/dx = 2; d(eˣ·eˣ + eˣ)/dx = 2e²ˣ + eˣ.
        let x = Tensor([1, -2, 3], shape: [3], requiresGradient: true)
        (x * x).sum().backward()
        expectClose(x.gradient, [2, -4, 6], shape: [3])
        x.zeroGradient()
        (x + x).sum().backward()
        expectClose(x.gradient, [2, 2, 2], shape: [3])
        let z = Tensor([0, 1], shape: [2], requiresGradient: true)
        let e = z.exp()
        (e * e + e).sum().backward()
        let expected = [0, 1].map { (v: Float) in 2 * Foundation.exp(2 * v) + Foundation.exp(v) }
        expectClose(z.gradient, expected, shape: [2])
    }

    @Test("leaf gradients accumulate across backward passes until zeroGradient()")
    func accumulationAcrossPasses() {
        let x = Tensor([1, 2], shape: [2], requiresGradient: true)
        (x * 3).sum().backward()
        (x * 3).sum().backward()
        expectClose(x.gradient, [6, 6], shape: [2])
        x.zeroGradient()
        #expect(x.gradient == nil)
    }

    @Test("withoutGradients {} records nothing, even for inputs that require gradients")
    func withoutGradientsRecordsNothing() {
        let x = Tensor.randomNormal([1, 2, 4, 4], seed: 1, requiresGradient: true)
        let w = Tensor.randomNormal([3, 2, 3, 3], seed: 2, requiresGradient: true)
        let q = Tensor.randomNormal([1, 2, 3, 4], seed: 3, requiresGradient: true)
        let results: [Tensor] = withoutGradients {
            #expect(!GradientMode.isEnabled)
            return [
                x + x, x * 2, x.exp(), x.sum(), x.softmax(), x.reshaped([2, 16]), x.permuted([0, 2, 1, 3]),
                conv2d(x, weight: w, padding: (1, 1)), matmul(q, q.transposed()),
                scaledDotProductAttention(query: q, key: q, value: q), layerNorm(q), groupNorm(x, groups: 2),
            ]
        }
        for result in results {
            #expect(!result.requiresGradient)
            #expect(result.op == nil)
        }
        #expect(GradientMode.isEnabled)
    }

    @Test("withGradients {} records again inside a withoutGradients {} scope")
    func withGradientsInsideWithout() {
        let x = Tensor([1, 2], shape: [2], requiresGradient: true)
        let y = withoutGradients { withGradients { x * 2 } }
        #expect(y.requiresGradient)
        #expect(y.op?.kind == .multiplyScalar)
    }

    @Test("nothing is recorded when no input requires a gradient")
    func noGradientNoOp() {
        let a = Tensor([1, 2], shape: [2])
        let b = Tensor([3, 4], shape: [2])
        let c = (a * b).exp().sum()
        #expect(!c.requiresGradient)
        #expect(c.op == nil)
        c.backward()  // a no-op
        #expect(a.gradient == nil)
    }

    @Test("frozen weights get no gradient while gradients still reach another leaf and the input")
    func frozenWeights() {
        // h = relu(x·W₁ᵀ) with W₁ frozen; y = h·W₂ᵀ + b₂ with W₂, b₂ trainable.
        var generator = SeededGenerator(seed: 11)
        let x = Tensor.randomNormal([2, 3], using: &generator, requiresGradient: true)
        let frozen = Tensor.randomNormal([4, 3], using: &generator)
        let w2 = Tensor.randomNormal([2, 4], using: &generator, requiresGradient: true)
        let b2 = Tensor.randomNormal([2], using: &generator, requiresGradient: true)
        let y = linear(linear(x, weight: frozen).relu(), weight: w2, bias: b2)
        y.sum().backward()
        #expect(frozen.gradient == nil)
        #expect(x.gradient?.shape == [2, 3])
        #expect(w2.gradient?.shape == [2, 4])
        expectClose(b2.gradient, [2, 2], shape: [2])
        // The same gradients with the frozen weight made trainable (it only adds a gradient for it).
        let trainable = Tensor(frozen.scalars(), shape: [4, 3], requiresGradient: true)
        let x2 = Tensor(x.scalars(), shape: [2, 3], requiresGradient: true)
        linear(linear(x2, weight: trainable).relu(), weight: w2.detached(), bias: b2.detached()).sum().backward()
        expectClose(x.gradient, x2.gradient!)
        #expect(trainable.gradient != nil)

        // A frozen conv weight with a trainable bias.
        let image = Tensor.randomNormal([1, 2, 3, 3], using: &generator, requiresGradient: true)
        let kernel = Tensor.randomNormal([2, 2, 3, 3], using: &generator)
        let bias = Tensor.zeros([2], requiresGradient: true)
        conv2d(image, weight: kernel, bias: bias, padding: (1, 1)).sum().backward()
        #expect(kernel.gradient == nil)
        expectClose(bias.gradient, [9, 9], shape: [2])
        #expect(image.gradient?.shape == [1, 2, 3, 3])
    }

    @Test("backward(seed:) with a non-scalar seed equals backward of Σ y ⊙ seed")
    func nonScalarSeed() {
        let x = Tensor([1, 2, 3, 4], shape: [2, 2], requiresGradient: true)
        let seed = Tensor([0.5, -1, 2, 0], shape: [2, 2])
        let y = x.pow(2) * 3
        y.backward(seed: seed)
        // d(3x²)/dx = 6x, times the seed.
        expectClose(x.gradient, [3, -12, 36, 0], shape: [2, 2])
        let x2 = Tensor([1, 2, 3, 4], shape: [2, 2], requiresGradient: true)
        (x2.pow(2) * 3 * seed).sum().backward()
        expectClose(x.gradient, x2.gradient!)
    }

    @Test("backward from a leaf stores the seed as its gradient")
    func backwardFromLeaf() {
        let x = Tensor([1, 2], shape: [2], requiresGradient: true)
        x.backward(seed: Tensor([3, 4], shape: [2]))
        expectClose(x.gradient, [3, 4], shape: [2])
    }

    @Test("backward frees every op of the graph unless retainGraph is set")
    func backwardFreesOps() {
        let x = Tensor([1, 2, 3], shape: [3], requiresGradient: true)
        let hidden = (x * 2).exp()
        let loss = hidden.sum()
        #expect(hidden.op != nil && loss.op != nil)
        loss.backward()
        #expect(loss.op == nil)
        #expect(hidden.op == nil)
        #expect(hidden.gradient == nil, "only leaves keep gradients")

        let x2 = Tensor([1, 2, 3], shape: [3], requiresGradient: true)
        let hidden2 = (x2 * 2).exp()
        let loss2 = hidden2.sum()
        loss2.backward(retainGraph: true)
        #expect(loss2.op != nil && hidden2.op != nil)
        let once = x2.gradient!.scalars()
        loss2.backward()
        expectClose(x2.gradient!.scalars(), once.map { 2 * $0 }, relative: 1e-6)
        #expect(loss2.op == nil)
    }

    @Test("detached() cuts the graph: x · detached(x) differentiates one factor only")
    func detachedCutsGraph() {
        let x = Tensor([2, 3], shape: [2], requiresGradient: true)
        let d = x.detached()
        #expect(!d.requiresGradient && d.op == nil)
        #expect(d.storage === x.storage)
        (x * d).sum().backward()
        expectClose(x.gradient, [2, 3], shape: [2])
    }

    @Test("recorded ops list their inputs in rule order and name their kind")
    func opInputsAndKinds() {
        let x = Tensor.ones([2, 3], requiresGradient: true)
        let w = Tensor.ones([4, 3], requiresGradient: true)
        let b = Tensor.zeros([4])
        let y = linear(x, weight: w, bias: b)
        #expect(y.op?.kind == .linear)
        let inputs = y.op?.inputs ?? []
        #expect(inputs.count == 3)
        #expect(inputs[0] === x && inputs[1] === w && inputs[2] === b)
        let image = Tensor.ones([1, 3, 4, 4], requiresGradient: true)
        let c = conv2d(image, weight: Tensor.ones([2, 3, 3, 3]))
        #expect(c.op?.kind == .conv2d)
        #expect(c.op?.inputs.count == 3 && c.op?.inputs[2] == nil)
        #expect(recordedOpKinds(from: (x * 2 + 1).exp()) == [.multiplyScalar, .addScalar, .exp])
    }

    @Test("a long chain of ops back-propagates without deep recursion")
    func longChain() {
        let x = Tensor([1], shape: [1], requiresGradient: true)
        var y = x
        for _ in 0..<5_000 { y = y + 1 }
        y.sum().backward()
        expectClose(x.gradient, [1], shape: [1])
    }

    @Test("a view of a leaf routes its gradient back to the leaf's shape")
    func viewsRouteToLeaf() {
        let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], requiresGradient: true)
        let view = x.transposed().sliced(axis: 0, 1..<3).reshaped([4])
        #expect(view.isLeaf == false)
        (view * Tensor([1, 2, 3, 4], shape: [4])).sum().backward()
        // view = [x[0,1], x[1,1], x[0,2], x[1,2]].
        expectClose(x.gradient, [0, 1, 3, 0, 2, 4], shape: [2, 3])
    }
}

import Foundation

/// Leaf gradients are independent tensors an optimizer may update in place.
@Suite struct LeafGradientOwnershipTests {
    @Test("Two leaves added together get separate gradient storage, distinct from the seed")
    func leafGradientsOwnTheirStorage() {
        let a = Tensor([1, 2], shape: [2], requiresGradient: true)
        let b = Tensor([3, 4], shape: [2], requiresGradient: true)
        let seed = Tensor([1, 1], shape: [2])
        (a + b).backward(seed: seed)
        let gradientA = a.gradient!
        let gradientB = b.gradient!
        #expect(gradientA.storage !== gradientB.storage)
        #expect(gradientA.storage !== seed.storage)
        gradientA.assign(Tensor([9, 9], shape: [2]))
        #expect(gradientB.scalars() == [1, 1])
        #expect(seed.scalars() == [1, 1])
    }
}
