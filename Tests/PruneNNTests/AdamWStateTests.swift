import Foundation
import PruneNN
import PruneTensor
import Testing

/// AdamW state as named tensors plus a step count: round trips, safetensors, and validation.
@Suite struct AdamWStateTests {
    static func optimizer(_ p: Tensor, _ q: Tensor) -> AdamW {
        AdamW(groups: [
            ParameterGroup(name: "p", parameters: [(key: "layer.p", tensor: p)], learningRate: 0.1),
            ParameterGroup(name: "q", parameters: [(key: "layer.q", tensor: q)], learningRate: 0.02, weightDecay: 0),
        ])
    }

    static func step(_ adam: inout AdamW, _ p: Tensor, _ q: Tensor, _ k: Int) {
        p.gradient = Tensor([Float(k) * 0.3 - 0.4, 0.2, -Float(k)], shape: [3])
        q.gradient = Tensor([0.7 - Float(k)], shape: [1])
        adam.step()
    }

    @Test("State is exp_avg / exp_avg_sq per parameter plus the step count, and reloading continues identically")
    func roundTrip() throws {
        let (p1, q1) = (Tensor([1, 2, 3], shape: [3]), Tensor([-1], shape: [1]))
        var original = Self.optimizer(p1, q1)
        for k in 0..<2 { Self.step(&original, p1, q1, k) }
        let state = original.state
        #expect(state.stepCount == 2)
        #expect(state.tensors.keys.sorted() == ["exp_avg.layer.p", "exp_avg.layer.q", "exp_avg_sq.layer.p", "exp_avg_sq.layer.q"])
        #expect(state.tensors["exp_avg.layer.p"]!.shape == [3])

        let (p2, q2) = (Tensor(p1.scalars(), shape: [3]), Tensor(q1.scalars(), shape: [1]))
        var restored = Self.optimizer(p2, q2)
        try restored.load(state)
        #expect(restored.stepCount == 2)
        Self.step(&original, p1, q1, 2)
        Self.step(&restored, p2, q2, 2)
        #expect(p1.scalars() == p2.scalars())
        #expect(q1.scalars() == q2.scalars())
        // The state is a copy: stepping again does not change what was taken.
        #expect(state.tensors["exp_avg.layer.q"]!.scalars() != original.state.tensors["exp_avg.layer.q"]!.scalars())
    }

    @Test("The state survives a safetensors file with the step count in the metadata")
    func safetensors() throws {
        let (p, q) = (Tensor([1, 2, 3], shape: [3]), Tensor([-1], shape: [1]))
        var adam = Self.optimizer(p, q)
        for k in 0..<3 { Self.step(&adam, p, q, k) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("adamw-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafetensorsWriter.write(adam.state.tensors, metadata: ["step": String(adam.stepCount)], to: path)
        let file = try SafetensorsFile.open(path)
        var tensors: [String: Tensor] = [:]
        for key in file.keys { tensors[key] = try file.tensor(key) }
        var reloaded = Self.optimizer(Tensor(p.scalars(), shape: [3]), Tensor(q.scalars(), shape: [1]))
        try reloaded.load(AdamWState(stepCount: Int(file.metadata["step"]!)!, tensors: tensors))
        for (key, tensor) in adam.state.tensors { #expect(reloaded.state.tensors[key]!.scalars() == tensor.scalars()) }
        #expect(reloaded.stepCount == 3)
    }

    @Test("Unknown, mis-shaped and half-present entries and negative steps are typed errors")
    func validation() {
        var adam = Self.optimizer(Tensor.zeros([3]), Tensor.zeros([1]))
        #expect(throws: OptimizerStateError.negativeStep(-1)) { try adam.load(AdamWState(stepCount: -1, tensors: [:])) }
        #expect(throws: OptimizerStateError.unknown(name: "exp_avg.other")) {
            try adam.load(AdamWState(stepCount: 1, tensors: ["exp_avg.other": Tensor.zeros([1])]))
        }
        #expect(throws: OptimizerStateError.unknown(name: "momentum.layer.p")) {
            try adam.load(AdamWState(stepCount: 1, tensors: ["momentum.layer.p": Tensor.zeros([3])]))
        }
        #expect(throws: OptimizerStateError.shape(name: "exp_avg_sq.layer.p", expected: [3], actual: [2])) {
            try adam.load(AdamWState(stepCount: 1, tensors: ["exp_avg_sq.layer.p": Tensor.zeros([2])]))
        }
        #expect(throws: OptimizerStateError.incomplete(parameter: "layer.q")) {
            try adam.load(AdamWState(stepCount: 1, tensors: ["exp_avg.layer.q": Tensor.zeros([1])]))
        }
        #expect("\(OptimizerStateError.incomplete(parameter: "x"))".contains("x"))
        #expect(adam.stepCount == 0)
    }
}
