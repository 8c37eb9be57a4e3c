// Reverse-mode differentiation over the recorded tape.

extension Tensor {
    /// Back-propagates from this tensor, accumulating into the ``gradient`` of every leaf that requires one.
    ///
    /// Nodes are visited in reverse topological order. Each node's incoming gradient is dropped as soon as
    /// its rule has run, and (unless `retainGraph`) its op is cleared, which releases the inputs and saved
    /// intermediates it held; so memory falls while backward proceeds.
    ///
    /// - Parameters:
    ///   - seed: the gradient of some scalar with respect to this tensor (same shape); `nil` means ones
    ///     and requires a one-element tensor.
    ///   - retainGraph: keep the recorded ops so backward can run again.
    public func backward(seed: Tensor? = nil, retainGraph: Bool = false) {
        guard requiresGradient else { return }
        if let seed {
            precondition(seed.shape == shape, "backward seed \(seed.shape) does not match \(shape)")
        } else {
            precondition(count == 1, "backward() without a seed needs a scalar, got \(shape)")
        }
        var order = topologicalOrder()
        var gradients: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed ?? Tensor.ones(shape)]
        withoutGradients {
            for index in order.indices.reversed() {
                guard let node = order[index] else { continue }
                order[index] = nil
                guard let g = gradients.removeValue(forKey: ObjectIdentifier(node)) else { continue }
                guard let op = node.op else {
                    // A leaf's gradient always owns its storage (never the seed or another leaf's gradient),
                    // so an optimizer may update it in place.
                    node.gradient = node.gradient.map { Kernels.binary(AddFunctor.self, $0, g) } ?? g.ownedCopy()
                    continue
                }
                let inputGradients = Backward.gradients(of: op, output: node, gradient: g)
                for (input, inputGradient) in zip(op.inputs, inputGradients) {
                    guard let input, input.requiresGradient, let inputGradient else { continue }
                    precondition(inputGradient.shape == input.shape, "backward of \(op.kind): gradient \(inputGradient.shape) for input \(input.shape)")
                    let key = ObjectIdentifier(input)
                    if let existing = gradients[key] {
                        gradients[key] = Kernels.binary(AddFunctor.self, existing, inputGradient)
                    } else {
                        gradients[key] = inputGradient
                    }
                }
                if !retainGraph { node.op = nil }
            }
        }
    }

    /// Every tensor reachable through recorded ops that requires a gradient, inputs before results.
    private func topologicalOrder() -> [Tensor?] {
        var order: [Tensor?] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded {
                order.append(node)
                continue
            }
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            stack.append((node, true))
            for input in node.op?.inputs ?? [] {
                if let input, input.requiresGradient, !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }
        return order
    }
}
