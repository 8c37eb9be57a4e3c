import Foundation
import PruneNN
import PruneTensor

/// Trains a ``DemoModel`` on the shapes dataset: AdamW with warm-up, cosine decay and global-norm
/// clipping, an EMA of the weights, 10 % null prompts, text encoder and denoiser jointly.
///
/// Step `k` is a pure function of the settings and the weights entering it: its batch is examples
/// `k·B ..< (k+1)·B` of `ShapesDataset(seed:)`, and its dropout, timesteps and noise come from a generator
/// seeded with `(seed, k)`. A run resumed from a checkpoint therefore continues exactly as the
/// uninterrupted run would.
public final class DemoTrainer {
    public let model: DemoModel
    public let settings: DemoTrainingSettings
    public let dataset: ShapesDataset
    public let objective = DemoObjective()
    public private(set) var optimizer: AdamW
    public let ema: ExponentialMovingAverage
    /// Optimizer steps completed.
    public private(set) var step = 0
    /// The loss of every completed step.
    public private(set) var lossHistory: [Float] = []
    /// Wall-clock seconds spent in training steps (accumulated across resumes).
    public private(set) var trainingSeconds: Double = 0
    let parameters: [(key: String, tensor: Tensor)]

    /// Prepares `model` for training (every parameter requires a gradient).
    public init(model: DemoModel, settings: DemoTrainingSettings) throws(DemoModelError) {
        try settings.validate()
        self.model = model
        self.settings = settings
        dataset = ShapesDataset(seed: settings.seed, size: DemoArchitecture.imageSize)
        model.textEncoderParameters.setRequiresGradient(true)
        model.denoiserParameters.setRequiresGradient(true)
        parameters = model.namedParameters
        optimizer = AdamW(groups: [
            ParameterGroup(name: "all", parameters: parameters, learningRate: settings.learningRate, weightDecay: settings.weightDecay),
        ])
        ema = ExponentialMovingAverage(parameters: parameters, decay: settings.emaDecay)
    }

    /// The batch of step `step`: prompts (`nil` = dropped to the null prompt) and clean latents `[B, 12, 16, 16]`.
    public func batch(atStep step: Int, using generator: inout SeededGenerator) -> (prompts: [String?], latents: Tensor) {
        let size = settings.batchSize
        let (prompts, images) = dataset.batch((step * size)..<((step + 1) * size))
        let kept = prompts.map { prompt -> String? in
            generator.nextUniform() < settings.nullPromptProbability ? nil : prompt.text
        }
        return (kept, PixelUnshuffleCodec.encode(images))
    }

    /// Runs one optimizer step. Returns its loss.
    @discardableResult
    public func trainStep() throws -> Float {
        let started = Date()
        var generator = SeededGenerator(seed: settings.seed &* 0xD1B5_4A32_D192_ED03 &+ UInt64(step) &+ 1)
        let (prompts, latents) = batch(atStep: step, using: &generator)
        let conditioning = try model.encode(prompts)
        let loss = try objective.loss(
            model.denoiser, latents: latents, tokens: conditioning.tokens, pooled: conditioning.pooled, using: &generator)
        let value = loss.item()
        guard value.isFinite else { throw DemoModelError.invalidConfiguration("the loss became \(value) at step \(step)") }
        loss.backward()
        GradientClipping.clip(parameters, maxNorm: settings.gradientClip)
        optimizer.setLearningRate(settings.learningRate(atStep: step), group: "all")
        optimizer.step()
        optimizer.zeroGradients()
        step += 1
        ema.update(parameters: parameters, step: step)
        lossHistory.append(value)
        trainingSeconds += Date().timeIntervalSince(started)
        return value
    }

    /// Trains until ``DemoTrainingSettings/steps``, reporting progress every `logEvery` steps and calling
    /// `checkpoint` every `checkpointEvery` steps (and after the last step).
    public func run(
        logEvery: Int = 10, checkpointEvery: Int = 250, log: (String) -> Void = { _ in },
        checkpoint: (DemoTrainer) throws -> Void = { _ in }
    ) throws {
        let startStep = step
        let started = Date()
        while step < settings.steps {
            try trainStep()
            if step % logEvery == 0 || step == settings.steps {
                let elapsed = Date().timeIntervalSince(started)
                let perStep = elapsed / Double(step - startStep)
                let window = lossHistory.suffix(logEvery)
                let meanLoss = window.reduce(0, +) / Float(window.count)
                log(String(
                    format: "step %d/%d  loss %.4f  lr %.2e  %.2f s/step  ETA %@", step, settings.steps, meanLoss,
                    settings.learningRate(atStep: step - 1), perStep, Self.duration(perStep * Double(settings.steps - step))))
            }
            if step % checkpointEvery == 0 || step == settings.steps { try checkpoint(self) }
        }
    }

    /// `1h02m03s`-style text.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        let (hours, minutes, secs) = (total / 3600, (total % 3600) / 60, total % 60)
        return hours > 0 ? String(format: "%dh%02dm%02ds", hours, minutes, secs) : String(format: "%dm%02ds", minutes, secs)
    }

    /// The EMA weights as a text encoder and denoiser parameter map each (keys without the prefixes).
    public func averagedWeights() -> (textEncoder: [String: Tensor], denoiser: [String: Tensor]) {
        var text: [String: Tensor] = [:]
        var denoiser: [String: Tensor] = [:]
        for (key, value) in ema.shadows {
            if key.hasPrefix("text_encoder.") { text[String(key.dropFirst("text_encoder.".count))] = value }
            if key.hasPrefix("denoiser.") { denoiser[String(key.dropFirst("denoiser.".count))] = value }
        }
        return (text, denoiser)
    }
}

// MARK: - Checkpoints

extension DemoTrainer {
    /// Writes the full training state (weights, EMA, AdamW moments, step, loss history, settings) to one
    /// safetensors file, atomically.
    /// - Throws: `SafetensorsError` when the file cannot be written.
    public func saveCheckpoint(to path: String) throws {
        var tensors: [String: Tensor] = [:]
        for (key, tensor) in parameters { tensors["param." + key] = tensor }
        for (key, tensor) in ema.shadows { tensors["ema." + key] = tensor }
        for (key, tensor) in optimizer.state.tensors { tensors["optimizer." + key] = tensor }
        let settingsJSON = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        let history = String(decoding: try JSONEncoder().encode(lossHistory), as: UTF8.self)
        try SafetensorsWriter.write(
            tensors,
            metadata: [
                "format": "prunekit-demo-training", "prunekit.output": "demo-training-checkpoint", "step": String(step), "optimizer_step": String(optimizer.stepCount),
                "settings": settingsJSON, "loss_history": history, "training_seconds": String(trainingSeconds),
            ],
            to: path)
    }

    /// Restores a state written by ``saveCheckpoint(to:)``. The checkpoint must come from a run with the same
    /// architecture, seed and batch size (the step count may differ, to extend a run).
    /// - Throws: ``DemoModelError/badCheckpoint(path:reason:)`` naming what does not fit.
    public func loadCheckpoint(from path: String) throws {
        let file: SafetensorsFile
        do { file = try SafetensorsFile.open(path) } catch { throw DemoModelError.badCheckpoint(path: path, reason: "\(error)") }
        let metadata = file.metadata
        guard metadata["format"] == "prunekit-demo-training", let stepText = metadata["step"], let savedStep = Int(stepText),
            let optimizerStep = metadata["optimizer_step"].flatMap(Int.init),
            let settingsText = metadata["settings"], let saved = try? JSONDecoder().decode(DemoTrainingSettings.self, from: Data(settingsText.utf8)),
            let historyText = metadata["loss_history"], let history = try? JSONDecoder().decode([Float].self, from: Data(historyText.utf8))
        else {
            throw DemoModelError.badCheckpoint(path: path, reason: "not a prunekit demo training checkpoint (metadata format, step, settings, loss_history)")
        }
        guard saved.architecture == settings.architecture, saved.seed == settings.seed, saved.batchSize == settings.batchSize else {
            throw DemoModelError.badCheckpoint(
                path: path,
                reason: "it is a \(saved.architecture.rawValue) run with seed \(saved.seed) and batch \(saved.batchSize), not \(settings.architecture.rawValue) with seed \(settings.seed) and batch \(settings.batchSize)")
        }
        var averages: [String: Tensor] = [:]
        var moments: [String: Tensor] = [:]
        for key in file.keys {
            if key.hasPrefix("ema.") { averages[String(key.dropFirst(4))] = try file.tensor(key) }
            if key.hasPrefix("optimizer.") { moments[String(key.dropFirst(10))] = try file.tensor(key) }
        }
        for (key, tensor) in parameters {
            guard file.contains("param." + key) else { throw DemoModelError.badCheckpoint(path: path, reason: "no tensor param.\(key)") }
            let stored = try file.tensor("param." + key)
            guard stored.shape == tensor.shape else {
                throw DemoModelError.badCheckpoint(path: path, reason: "param.\(key) has shape \(stored.shape), expected \(tensor.shape)")
            }
            tensor.assign(stored)
        }
        try ema.load(averages, source: path)
        do { try optimizer.load(AdamWState(stepCount: optimizerStep, tensors: moments)) } catch {
            throw DemoModelError.badCheckpoint(path: path, reason: "\(error)")
        }
        step = savedStep
        lossHistory = history
        trainingSeconds = Double(metadata["training_seconds"] ?? "") ?? 0
    }
}
