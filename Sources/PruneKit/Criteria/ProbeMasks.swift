import PruneNN
import PruneTensor

/// All-ones unit masks that are gradient leaves: running a step with them leaves the output unchanged
/// (every unit kept) but records each mask multiplication on the tape, so
///
/// - after a backward pass, `mask.gradient[u]` = ∂L/∂m_u = Σ over unit `u`'s masked activation entries of
///   activation · ∂L/∂(masked activation) (the mask-gradient identity at m = 1);
/// - the tape holds, next to each mask, the activation it multiplied (read by ``activations(from:)``).
struct ProbeMasks {
    let leaves: [String: Tensor]
    let masks: UnitMasks

    init(groups: [UnitGroup]) {
        var leaves: [String: Tensor] = [:]
        for group in groups { leaves[group.moduleKey] = Tensor.ones([group.unitCount], requiresGradient: true) }
        self.leaves = leaves
        masks = UnitMasks(leaves)
    }

    func zeroGradients() { for leaf in leaves.values { leaf.zeroGradient() } }

    /// The accumulated mask gradients by module key (zeros where none arrived).
    var gradients: [String: [Float]] { leaves.mapValues { $0.gradient?.scalars() ?? [Float](repeating: 0, count: $0.count) } }

    /// One masked activation seen on the tape: the tensor the mask multiplied, and the axis of its units — or,
    /// for a block list whose mask is applied one block at a time (``UnitMasks/block(_:index:input:output:)``), the
    /// block's whole residual contribution and its index (`unitAxis` `nil`).
    struct Observation {
        let module: String
        let activation: Tensor
        let unitAxis: Int?
        var unit: Int? = nil
    }

    /// Walks the tape that produced `output` and returns, for every multiplication by a probe mask (directly
    /// or through a reshape of it, as `Heads.masked` does), the other operand and its unit axis.
    func activations(from output: Tensor) -> [Observation] {
        var moduleOfLeaf: [ObjectIdentifier: String] = [:]
        for (module, leaf) in leaves { moduleOfLeaf[ObjectIdentifier(leaf)] = module }
        func maskModule(_ tensor: Tensor) -> String? {
            if let module = moduleOfLeaf[ObjectIdentifier(tensor)] { return module }
            if case .reshape(let source)? = tensor.op { return moduleOfLeaf[ObjectIdentifier(source)] }
            return nil
        }
        func unitAxis(activation: Tensor, mask: Tensor, units: Int) -> Int? {
            // The mask operand ([units] or [units, 1, …]) broadcasts against the activation's trailing axes.
            guard let position = mask.shape.firstIndex(of: units), activation.rank >= mask.rank else { return nil }
            return activation.rank - mask.rank + position
        }
        /// Block `unit` of a list when `tensor` is one entry sliced from its probe mask.
        func blockEntry(_ tensor: Tensor) -> (module: String, unit: Int)? {
            guard case .slice(let source, 0, let start)? = tensor.op, tensor.shape == [1],
                let module = moduleOfLeaf[ObjectIdentifier(source)]
            else { return nil }
            return (module, start)
        }
        var observations: [Observation] = []
        var visited = Set<ObjectIdentifier>()
        var stack = [output]
        while let tensor = stack.popLast() {
            guard visited.insert(ObjectIdentifier(tensor)).inserted, let op = tensor.op else { continue }
            if case .multiply(let a, let b) = op {
                for (mask, activation) in [(b, a), (a, b)] {
                    if let entry = blockEntry(mask) {
                        observations.append(Observation(module: entry.module, activation: activation, unitAxis: nil, unit: entry.unit))
                        continue
                    }
                    if let module = maskModule(mask), let units = leaves[module]?.count,
                        let axis = unitAxis(activation: activation, mask: mask, units: units),
                        activation.shape[axis] == units
                    {
                        observations.append(Observation(module: module, activation: activation, unitAxis: axis))
                    }
                }
            }
            for case let input? in op.inputs where input.op != nil { stack.append(input) }
        }
        return observations
    }
}
