import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneTensor
import Testing

/// Time-step gradient checkpointing keeps one step's tape alive at a time.
///
/// The engine has no allocation counter, so this is observed through the graph itself: the number of
/// recorded nodes reachable from each recomputed step output (bounded by one step's graph, against the
/// full tape's T steps), and weak references to the outputs of steps already back-propagated (released
/// before the next step is recomputed, which releases every intermediate they held).
@Suite struct CheckpointMemoryTests {
    @Test("Each recomputed step holds one step's graph, and earlier-processed steps are freed")
    func checkpointedModeKeepsOneStepAlive() throws {
        let steps = 4
        let fixture = try ObjectiveFixtures.flux(steps: steps)
        let masks = fixture.unsaturatedMasks(parametrization: .hardConcrete(.flux))
        let target = try EcoDiffObjective.target(of: fixture.trajectory, noise: fixture.noise)
        let maskNoise = MaskNoise(seed: 5)

        final class WeakTensor { weak var tensor: Tensor? ; init(_ tensor: Tensor) { self.tensor = tensor } }
        var processed: [WeakTensor] = []
        var nodeCounts: [Int] = []
        var leaksSeen = 0
        _ = try EcoDiffObjective.flux.accumulateGradients(
            fixture.trajectory, noise: fixture.noise, target: target, masks: masks, maskNoise: maskNoise,
            onRecomputedStep: { _, output in
                leaksSeen += processed.filter { $0.tensor != nil }.count
                nodeCounts.append(recordedNodeCount(from: output))
                processed.append(WeakTensor(output))
            })
        #expect(nodeCounts.count == steps)
        #expect(leaksSeen == 0)
        #expect(processed.allSatisfy { $0.tensor == nil })

        // The same trajectory on one tape: its graph spans every step.
        let fullTapeNodes = try withGradients {
            var latents = fixture.trajectory.initialLatents(noise: fixture.noise)
            for index in 0..<steps {
                latents = try fixture.trajectory.step(latents, index: index, masks: masks.masks(noise: maskNoise, step: index))
            }
            return recordedNodeCount(from: latents)
        }
        let largestStep = nodeCounts.max() ?? 0
        print("recorded nodes per recomputed step \(nodeCounts); full tape of \(steps) steps \(fullTapeNodes)")
        #expect(largestStep > 0)
        #expect(largestStep * (steps - 1) < fullTapeNodes)
        #expect(nodeCounts.allSatisfy { $0 <= fullTapeNodes / steps + 8 })
    }

    @Test("After the checkpointed backward no λ keeps a graph and every gradient is a plain tensor")
    func nothingRecordedSurvives() throws {
        let fixture = try ObjectiveFixtures.flux(steps: 2)
        let masks = fixture.unsaturatedMasks(parametrization: .hardConcrete(.flux))
        let target = try EcoDiffObjective.target(of: fixture.trajectory, noise: fixture.noise)
        _ = try EcoDiffObjective.flux.accumulateGradients(
            fixture.trajectory, noise: fixture.noise, target: target, masks: masks, maskNoise: MaskNoise(seed: 5))
        for module in fixture.modules {
            let lambda = try #require(masks[module.key])
            #expect(lambda.isLeaf)
            let gradient = try #require(lambda.gradient)
            #expect(gradient.isLeaf && !gradient.requiresGradient)
        }
    }
}

/// Recorded tensors reachable from `tensor` through their ops (leaves not counted).
func recordedNodeCount(from tensor: Tensor) -> Int {
    var seen = Set<ObjectIdentifier>()
    var stack = [tensor]
    while let node = stack.popLast() {
        guard let op = node.op, seen.insert(ObjectIdentifier(node)).inserted else { continue }
        for case let input? in op.inputs { stack.append(input) }
    }
    return seen.count
}
