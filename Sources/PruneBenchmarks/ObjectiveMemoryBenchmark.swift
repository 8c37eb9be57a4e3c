import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneTensor

/// Peak resident memory and time of one end-to-end EcoDiff mask-learning iteration (unmasked target, masked
/// trajectory, backward to every λ) for T denoising steps, with time-step gradient checkpointing and with
/// the whole trajectory on the tape. Each measurement runs in a fresh process so its peak (VmHWM) is its own.
///
/// Model: ``FluxConfiguration/fluxBench`` (random weights) on a 48×48 latent — 576 image tokens, a 384 px
/// image — with 128 text tokens, the FLUX-dev schedule and hard-concrete masks on every head and neuron.
/// Quick runs use a tiny FLUX configuration and T = 2, 4.
struct ObjectiveMemoryResult: Encodable, Sendable {
    let mode: String
    let steps: Int
    let peakResidentBytes: Int
    let seconds: Double
}

enum ObjectiveMemoryBenchmark {
    static let childFlag = "--measure-objective"

    static func run(quick: Bool) -> [ObjectiveMemoryResult] {
        let stepCounts = quick ? [2, 4] : [2, 8, 32]
        var results: [ObjectiveMemoryResult] = []
        print("\n## One mask-learning iteration: peak memory (fresh process each)")
        print("mode".padding(toLength: 14, withPad: " ", startingAt: 0) + "steps".leftPadded(6) + "peak MiB".leftPadded(11) + "seconds".leftPadded(10))
        for mode in ["checkpointed", "fullTape"] {
            for steps in stepCounts {
                let child = Process()
                child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
                child.arguments = [childFlag, mode, String(steps), quick ? "quick" : "full"]
                let pipe = Pipe()
                child.standardOutput = pipe
                try! child.run()
                let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                child.waitUntilExit()
                let figures = output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                precondition(child.terminationStatus == 0 && figures.count == 2, "objective child failed: \(output)")
                let result = ObjectiveMemoryResult(mode: mode, steps: steps, peakResidentBytes: Int(figures[0]), seconds: figures[1])
                results.append(result)
                print(mode.padding(toLength: 14, withPad: " ", startingAt: 0) + String(steps).leftPadded(6)
                    + String(format: "%.0f", Double(result.peakResidentBytes) / 1_048_576).leftPadded(11)
                    + String(format: "%.1f", result.seconds).leftPadded(10))
            }
        }
        func peak(_ mode: String, _ steps: Int) -> Double {
            Double(results.first { $0.mode == mode && $0.steps == steps }?.peakResidentBytes ?? 0)
        }
        let (few, many) = (stepCounts.first!, stepCounts.last!)
        print(String(format: "checkpointed T=%d / T=%d: %.2f× (target ≤ 1.25×)", many, few, peak("checkpointed", many) / peak("checkpointed", few)))
        print(String(format: "checkpointed / full tape at T=%d: %.3f (target ≤ 0.125)", many, peak("checkpointed", many) / peak("fullTape", many)))
        return results
    }

    /// The child side: one iteration in `mode` with `steps` steps; prints peak RSS (bytes) and seconds.
    static func measure(mode: String, steps: Int, quick: Bool) -> Never {
        let configuration: FluxConfiguration = quick
            ? FluxConfiguration(inChannels: 4, doubleBlockCount: 1, singleBlockCount: 1, headDimension: 16, headCount: 2,
                                jointAttentionDimension: 32, pooledProjectionDimension: 32, guidanceEmbeds: true, ropeAxesDimensions: [4, 4, 8])
            : .fluxBench
        let (latentSide, textLength) = quick ? (8, 8) : (48, 128)
        let loaded = FluxModelLoader.random(configuration: configuration, seed: 1)
        guard case .flowMatchEulerDiscrete(let schedulerConfig) = SchedulerPreset.fluxDev.configuration else { exit(3) }
        let trajectory = try! FluxSampler(
            transformer: loaded.model, scheduler: try! FlowMatchEulerDiscreteScheduler(config: schedulerConfig), steps: steps,
            guidanceScale: 3.5, promptEmbeds: Tensor.randomNormal([1, textLength, configuration.jointAttentionDimension], seed: 2),
            pooledPromptEmbeds: Tensor.randomNormal([1, configuration.pooledProjectionDimension], seed: 3),
            latentHeight: latentSide, latentWidth: latentSide)
        let noise = Tensor.randomNormal([1, (latentSide / 2) * (latentSide / 2), configuration.inChannels], seed: 4)
        let masks = MaskSet(groups: loaded.model.unitGroups.filter { !$0.isBlockList }, parametrization: .hardConcrete(.flux))
        var objective = EcoDiffObjective.flux
        objective.mode = mode == "fullTape" ? .fullTape : .checkpointed
        let start = Date()
        let target = try! EcoDiffObjective.target(of: trajectory, noise: noise)
        let value = try! objective.accumulateGradients(trajectory, noise: noise, target: target, masks: masks, maskNoise: MaskNoise(seed: 5))
        let seconds = Date().timeIntervalSince(start)
        keepAlive(value)
        print("\(peakResidentBytes()) \(seconds)")
        exit(0)
    }

    /// The peak resident set size of this process (`getrusage` `ru_maxrss`, in KiB on Linux).
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return usage.ru_maxrss * 1024
    }
}
