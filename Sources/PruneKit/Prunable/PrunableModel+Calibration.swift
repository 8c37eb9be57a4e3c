import PruneTensor

extension PrunableModel {
    /// One calibration sample per prompt: the prompt's trajectory under `settings`, standard-normal noise
    /// drawn from ``CalibrationSeeds/noise(_:prompt:)`` and, with `withTargets`, the unmasked model's final
    /// latents as the reconstruction target (otherwise the noise stands in; data-free criteria never read it).
    ///
    /// - Parameters:
    ///   - promptIndices: the run-wide index of each of `prompts`, which seeds its noise (default `0..<prompts.count`);
    ///     a rank of a data-parallel run passes its ``CalibrationShard/ownedPrompts`` so its samples equal those a
    ///     single process would draw for the same prompts.
    ///   - onPrompt: called with the position in `prompts` of each prompt once its sample is ready.
    /// - Throws: ``PrunableModelError`` for missing conditioning or bad settings; the model's errors.
    public func calibrationSamples(
        prompts: [PromptConditioning], promptIndices: [Int]? = nil, settings: TrajectorySettings, seed: UInt64, withTargets: Bool = true,
        onPrompt: (Int) -> Void = { _ in }
    ) throws -> [CalibrationSample<AnyDenoisingTrajectory>] {
        precondition(promptIndices == nil || promptIndices!.count == prompts.count, "one index per prompt")
        var samples: [CalibrationSample<AnyDenoisingTrajectory>] = []
        for (index, conditioning) in prompts.enumerated() {
            let promptSeed = CalibrationSeeds.noise(seed, prompt: promptIndices?[index] ?? index)
            let prepared = try trajectory(conditioning: conditioning, settings: settings, seed: promptSeed &+ 1)
            let noise = Tensor.randomNormal(prepared.noiseShape, seed: promptSeed)
            let target = withTargets ? try EcoDiffObjective.target(of: prepared.trajectory, noise: noise) : noise
            samples.append(CalibrationSample(trajectory: prepared.trajectory, noise: noise, target: target))
            onPrompt(index)
        }
        return samples
    }

    /// `count` prompts of standard-normal conditioning with ``conditioningShapes``, drawn from `seed`: for
    /// measuring and testing on models that have no text encoder at hand (bench presets). The masks learned
    /// from them say nothing about real prompts.
    public func randomConditioning(count: Int, seed: UInt64) -> [PromptConditioning] {
        (0..<count).map { index in
            var tensors: [String: Tensor] = [:]
            for (offset, name) in conditioningShapes.keys.sorted().enumerated() {
                let streamSeed = CalibrationSeeds.noise(seed ^ 0x5EED_C0DE, prompt: index * 16 + offset)
                tensors[name] = Tensor.randomNormal(conditioningShapes[name]!, seed: streamSeed)
            }
            return PromptConditioning(tensors, source: "random conditioning (seed \(seed), prompt \(index))")
        }
    }
}

/// The seeds of a calibration run, so every consumer draws the same noise for the same prompt.
public enum CalibrationSeeds {
    /// The noise seed of prompt `index` in a run seeded with `seed`.
    public static func noise(_ seed: UInt64, prompt index: Int) -> UInt64 { seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15 }
}
