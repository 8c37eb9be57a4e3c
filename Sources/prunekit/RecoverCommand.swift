import ArgumentParser
import Foundation
import PruneDemo
import PruneKit
import PruneTensor

/// `prunekit recover`: distil a pruned model from its original with LoRA or full fine-tuning.
struct RecoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Recover a pruned model's quality by distillation from the original (LoRA or full fine-tune).",
        discussion: """
            The pruned model (student) learns the original's (teacher's) denoising steps along the teacher's own \
            trajectories: loss = MSE(student step from the teacher's latents, the teacher's next latents). LoRA \
            adapters (attention and FFN projections) are merged into the weights, so --out is a plain dense model \
            of the pruned size. Prints the losses before and after; --report writes them as JSON. \
            --student-steps S < the teacher's T steps (S dividing T) distils steps too: student step j learns the \
            teacher's steps k·j … k·(j+1), k = T/S — with --pruned the original itself, this makes a few-step model. \
            Demo models calibrate on their 72 prompts unless --prompts, --embeddings or --random-prompts is given.
            """)

    enum Method: String, CaseIterable, ExpressibleByArgument { case lora, full }

    @Option(help: "The original model directory.") var original: String
    @Option(help: "The pruned model directory (a `prunekit prune` export of --original).") var pruned: String
    @Option(help: "lora or full.") var method: Method = .lora
    @Option(help: "LoRA rank.") var rank: Int = 8
    @Option(help: "LoRA alpha (scale alpha / rank).") var alpha: Float = 8
    @Option(help: "Optimizer steps, one (prompt, step) pair each.") var iterations: Int = 200
    @Option(help: "AdamW learning rate (default: 1e-3 for LoRA, 1e-5 for full; at 1e-4 a full fine-tune of the SDXL demo diverged).") var learningRate: Float?
    @Option(help: "A safetensors file with prompt embeddings (as for `prune`).") var embeddings: String?
    @Option(help: "A text file of prompts, one per line (models with their own text encoder, e.g. the demo models).")
    var prompts: String?
    @Option(help: "Without --embeddings: this many prompts of random conditioning.") var randomPrompts: Int?
    @Option(help: "A preset naming the schedule (default: the model's own).") var preset: String?
    @Option(help: "Denoising steps of each trajectory (default: the preset's).") var steps: Int?
    @Option(help: "Step distillation: the student's steps (must divide the teacher's).") var studentSteps: Int?
    @Option(help: "Teacher trajectories per prompt, each from its own noise.") var trajectoriesPerPrompt: Int = 1
    @Option(help: "Image height in pixels.") var height: Int?
    @Option(help: "Image width in pixels.") var width: Int?
    @Option(help: "Seed of the noise, the LoRA initialisation and the pair order.") var seed: UInt64 = 0
    @Option(help: "Where to write the recovered model directory.") var out: String
    @Option(help: "Where to write the report as JSON.") var report: String?
    @Flag(help: "Replace an existing --out directory or --report file written by PruneKit (nothing else is ever replaced).") var overwrite = false

    func validate() throws {
        guard iterations >= 0 else { throw ValidationError("--iterations must be 0 or more, got \(iterations)") }
        guard rank >= 1 else { throw ValidationError("--rank must be at least 1, got \(rank)") }
        if let learningRate, !(learningRate > 0) { throw ValidationError("--learning-rate must be positive, got \(learningRate)") }
        let sources = [embeddings, prompts, randomPrompts.map(String.init)].compactMap { $0 }.count
        guard sources == 1 || (sources == 0 && DemoModelDirectory.isDemoModel(original)) else {
            throw ValidationError("give exactly one of --embeddings FILE, --prompts FILE or --random-prompts N")
        }
        guard trajectoriesPerPrompt >= 1 else { throw ValidationError("--trajectories-per-prompt must be at least 1") }
        if let studentSteps, studentSteps < 1 { throw ValidationError("--student-steps must be at least 1, got \(studentSteps)") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        try CommandOutputs.validate(outputRequests, inputs: inputPaths)
    }

    /// The recovered model folder and the JSON report.
    var outputRequests: [OutputRequest] {
        [OutputRequest(flag: "--out", path: out, kind: .directory)]
            + (report.map { [OutputRequest(flag: "--report", path: $0, kind: .file(.json))] } ?? [])
    }

    var inputPaths: [InputPath] {
        CommandOutputs.inputs([("--original", original), ("--pruned", pruned), ("--embeddings", embeddings), ("--prompts", prompts)])
    }

    func run() throws {
        let claim = try CommandOutputs.claim(outputRequests, inputs: inputPaths, overwrite: overwrite)
        defer { claim.release() }
        let teacher = try Architectures.loadModel(directory: original)
        let student = try Architectures.loadModel(directory: pruned)
        guard teacher.architectureName == student.architectureName else {
            throw CLIError.badOption("--original is a \(teacher.architectureName) but --pruned is a \(student.architectureName)")
        }
        let once = try conditionings(for: teacher)
        let prompts = (0..<trajectoriesPerPrompt).flatMap { _ in once }
        let base = try preset.map(Architectures.trajectorySettings(preset:)) ?? TrajectorySettings()
        let settings = TrajectorySettings(
            scheduler: base.scheduler, steps: steps ?? base.steps, guidanceScale: base.guidanceScale, height: height, width: width)
        printProgress("recover: running the original on \(prompts.count) prompts")
        let studentSettings = studentSteps.map { steps in
            TrajectorySettings(scheduler: settings.scheduler, steps: steps, guidanceScale: settings.guidanceScale, height: height, width: width)
        }
        let recovery = try DistillationRecovery(
            teacher: teacher, student: student, prompts: prompts, settings: settings, studentSettings: studentSettings, seed: seed)
        let recoveryMethod: RecoveryMethod = method == .lora ? .lowRank(rank: rank, alpha: alpha) : .fullFineTune
        let start = Date()
        let result = try recovery.run(
            RecoverySettings(
                method: recoveryMethod, iterations: iterations, learningRate: learningRate ?? (method == .lora ? 1e-3 : 1e-5),
                seed: seed)
        ) { iteration, loss in
            guard (iteration + 1) % 10 == 0 || iteration + 1 == iterations else { return }
            let elapsed = Date().timeIntervalSince(start)
            let eta = elapsed / Double(iteration + 1) * Double(iterations - iteration - 1)
            printProgress("recover: iteration \(iteration + 1)/\(iterations) loss \(String(format: "%.5g", loss)) ETA \(String(format: "%.0f", eta))s")
        }
        print("""
            \(result.method): \(result.trainableParameters) trainable parameters, \(result.iterations) iterations, \
            \(String(format: "%.1f", result.seconds)) s
            step distillation MSE  \(result.stepLossBefore) → \(result.stepLossAfter)
            final-latent MSE       \(result.finalLatentMSEBefore) → \(result.finalLatentMSEAfter)
            """)
        // Every head and neuron kept as it is (block lists, all kept, need no record).
        let units = student.unitGroups.filter { !$0.isBlockList }.reduce(into: [String: [Int]]()) { $0[$1.moduleKey] = Array(0..<$1.unitCount) }
        try student.exportPruned(
            selection: UnitSelection(kept: units), to: out,
            provenance: PruningProvenance(criterion: "recovered (\(result.method))", seed: seed, sourceDirectory: pruned),
            replacing: overwrite, dtype: .float32)
        if let report {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFileWriter.write(OutputMarker.marking(json: try encoder.encode(result), kind: "recovery-report"), to: report)
        }
        print("wrote \(out)")
    }

    /// The prompts' conditioning: `--embeddings`, `--prompts` (encoded by the model), `--random-prompts`, or a
    /// demo model's 72 prompts.
    func conditionings(for teacher: any PrunableModel) throws -> [PromptConditioning] {
        if let embeddings { return try PruneCalibration.Embeddings(path: embeddings).conditionings(for: teacher) }
        if let randomPrompts { return teacher.randomConditioning(count: randomPrompts, seed: seed) }
        guard let encoder = teacher as? any PromptEncoding else {
            throw CLIError.badOption("--prompts needs a model with its own text encoder; give --embeddings for \(teacher.architectureName)")
        }
        if let path = prompts {
            let lines = PromptFile.prompts(in: try String(contentsOfFile: path, encoding: .utf8))
            guard !lines.isEmpty else { throw CLIError.invalidFile(path: path, reason: "holds no prompts (one per line)") }
            return try encoder.encode(prompts: lines)
        }
        return try encoder.encode(prompts: ShapePrompt.all.map(\.text))
    }
}
