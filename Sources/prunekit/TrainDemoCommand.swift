import ArgumentParser
import Foundation
import PruneDemo
import PruneKit
import PruneTensor

/// `prunekit train-demo`: trains one of the embedded demo models from a seed.
struct TrainDemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-demo",
        abstract: "Train a small SDXL- or FLUX-architecture demo model on the procedural shapes dataset.",
        discussion: """
            Writes a diffusers model directory (config.json, diffusion_pytorch_model.safetensors) plus the text \
            encoder, tokenizer, scheduler config, demo.json (settings, loss, adherence), samples.png and loss.png. \
            The full training state goes to --checkpoint every --checkpoint-every steps; --resume continues from it \
            exactly (same batches, noise and optimizer state), also to extend a run with a larger --steps.
            """)

    @Option(help: "sdxl or flux.") var architecture: String
    @Option(help: "Optimizer steps of the whole run.") var steps: Int
    @Option(help: "Seed of the weights, data, dropout, timesteps and noise.") var seed: UInt64 = 0
    @Option(help: "The model directory to write.") var out: String
    @Flag(help: "Replace an existing --out model (or start over from an existing --checkpoint) written by PruneKit; nothing else is ever replaced.")
    var overwrite = false
    @Flag(help: "Continue from --checkpoint.") var resume = false
    @Option(help: "Training-state file (default: <out>.checkpoint.safetensors).") var checkpoint: String?
    @Option(help: "Steps between checkpoints.") var checkpointEvery: Int = 250
    @Option(help: "Steps between progress lines.") var logEvery: Int = 10
    @Option(help: "Images per optimizer step.") var batchSize: Int = 32
    @Option(help: "Peak learning rate (100-step warm-up, cosine decay to 10 %).") var learningRate: Float = 1e-3
    @Option(help: "Evaluation images per prompt (72 prompts); 0 skips the evaluation.") var evalSamples: Int = 3
    @Option(help: "Sampling steps of the evaluation.") var samplingSteps: Int = 20
    @Option(help: "Classifier-free guidance scale of the evaluation (default: the family's, SDXL 1, FLUX 3).") var guidance: Float?

    func validate() throws {
        guard DemoArchitecture(rawValue: architecture) != nil else {
            throw ValidationError("--architecture must be sdxl or flux, got \(architecture)")
        }
        guard steps >= 0 else { throw ValidationError("--steps must not be negative, got \(steps)") }
        guard checkpointEvery > 0, logEvery > 0 else { throw ValidationError("--checkpoint-every and --log-every must be positive") }
        guard evalSamples >= 0, samplingSteps > 0 else { throw ValidationError("--eval-samples must be ≥ 0 and --sampling-steps ≥ 1") }
        try CommandOutputs.validate(outputRequests, inputs: [])
    }

    /// The training-state file.
    var checkpointPath: String { checkpoint ?? URL(fileURLWithPath: out).standardizedFileURL.path + ".checkpoint.safetensors" }

    /// The model folder and the training state (continued with --resume).
    var outputRequests: [OutputRequest] {
        [
            OutputRequest(flag: "--out", path: out, kind: .directory),
            OutputRequest(flag: "--checkpoint", path: checkpointPath, kind: .file(.safetensors), continues: resume),
        ]
    }

    func run() throws {
        let architecture = DemoArchitecture(rawValue: self.architecture)!
        var settings = DemoTrainingSettings(architecture: architecture, seed: seed, steps: steps)
        settings.batchSize = batchSize
        settings.learningRate = learningRate
        if resume, !FileManager.default.fileExists(atPath: checkpointPath) {
            throw CLIError.missingFile(path: checkpointPath, purpose: "--resume needs the training checkpoint")
        }
        let claim: OutputClaim
        do { claim = try CommandOutputs.claim(outputRequests, inputs: [], overwrite: overwrite) } catch OutputSafetyError.exists(let flag, let path)
            where flag == "--checkpoint"
        {
            throw CLIError.badOption("\(path) exists: pass --resume to continue that run, or --overwrite to start over")
        }
        defer { claim.release() }

        let model = try DemoModel.random(architecture, seed: seed)
        let trainer = try DemoTrainer(model: model, settings: settings)
        if resume {
            try trainer.loadCheckpoint(from: checkpointPath)
            Self.log("resumed \(checkpointPath) at step \(trainer.step)")
        }
        let counts = model.parameterCounts
        Self.log("\(architecture.rawValue) demo: \(counts.denoiser) denoiser + \(counts.textEncoder) text-encoder parameters, batch \(batchSize), \(steps) steps")
        try trainer.run(logEvery: logEvery, checkpointEvery: checkpointEvery, log: Self.log) { trainer in
            try trainer.saveCheckpoint(to: checkpointPath)
        }

        // The shipped model carries the EMA weights.
        let shipped = try DemoModel.random(architecture, seed: seed)
        let averaged = trainer.averagedWeights()
        try shipped.assign(textEncoder: averaged.textEncoder, denoiser: averaged.denoiser)
        // Stored as float16 (the 10 MB budget of both shipped models); evaluate exactly what is stored.
        shipped.roundWeights(to: .float16)
        let sampling = DemoSamplingSettings(steps: samplingSteps, guidanceScale: guidance ?? architecture.defaultGuidanceScale)
        var evaluation: DemoEvaluation?
        var evaluationSeconds = 0.0
        if evalSamples > 0 {
            let started = Date()
            evaluation = try DemoEvaluation(model: shipped, sampling: sampling, samplesPerPrompt: evalSamples, seed: 1_000_003)
            evaluationSeconds = Date().timeIntervalSince(started)
            Self.log("adherence: \(evaluation!.report.summary) (\(String(format: "%.0f", evaluationSeconds)) s)")
        }
        let recent = trainer.lossHistory.suffix(100)
        let card = DemoModelCard(
            architecture: architecture, trainingCommand: Self.commandLine(), training: settings, stepsCompleted: trainer.step,
            trainingSeconds: trainer.trainingSeconds, finalLoss: recent.isEmpty ? .nan : recent.reduce(0, +) / Float(recent.count),
            denoiserParameters: counts.denoiser, textEncoderParameters: counts.textEncoder, sampling: sampling,
            samplesPerPrompt: evalSamples, evaluationSeed: 1_000_003, adherence: evaluation?.report, evaluationSeconds: evaluationSeconds)
        try DemoModelDirectory.write(
            shipped, card: card, samples: evaluation?.firstRoundGrid,
            lossChart: trainer.lossHistory.count >= 2 ? LineChart.lossCurve(trainer.lossHistory).render() : nil, to: out,
            replacing: overwrite, dtype: .float16)
        Self.log("wrote \(out)")
    }

    /// The command as typed (for demo.json).
    static func commandLine() -> String {
        (["prunekit"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
    }

    static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
