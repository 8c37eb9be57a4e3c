import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// The PruneKit side of one row of the PyTorch comparison, run in a fresh process
/// (`prunekit-bench compare-row …`) so that the parent can read the row's own peak RSS from `wait4`.
///
/// Rows (each loads its model from the setup's files first; loading is not timed):
/// - `forward`: one forward without the tape at `batch`;
/// - `backward`: one forward on the tape with every mask a leaf (values from `masks.safetensors`, applied
///   where PruneKit applies them: head outputs before the output projection, FFN activations before the
///   down projection), then backward of `sum(output · loss_weights)` to the masks; batch 1;
/// - `iteration`: one EcoDiff mask-learning iteration: the unmasked target trajectory (no tape), the masked
///   trajectory (no tape, latents kept), the per-step recompute and backward from the last step to the
///   first (time-step gradient checkpointing), the penalty's gradient, and one AdamW step on λ; batch 1;
/// - `pruned`: `forward` at batch 1 on the magnitude-pruned export `pruned-<percent>`, alternating call by
///   call with the unpruned model's forward (`dense_seconds` in the result); the peak RSS of this row
///   therefore holds both models.
///
/// `baseline_rss_bytes` in the result is the process's resident size before the model loads (runtime and
/// libraries), so that the parent can tell the model's and the work's memory from the runtime's;
/// `gemm_operations` (and for `pruned`, `dense_gemm_operations`) counts the matrix-product operations of one
/// call (``OperationCounter``), the work a speed-up proportional to FLOPs would follow.
///
/// The timed call runs `warmups` times untimed, then `iterations` times timed. The output of the first call
/// (forward output, mask gradients, or the objective and its λ gradients) is written to `output` for the
/// parent to compare with PyTorch's; the times go to `result` as JSON.
struct ComparisonRow {
    var model: ComparisonModel
    var row: String
    var batch = 1
    var percent = 0
    var warmups = 1
    var iterations = 3
    var work = ""
    var resultPath = ""
    var outputPath = ""

    static let rows = ["forward", "backward", "iteration", "pruned"]

    /// Parses `--work DIR --model NAME --row ROW [--batch N] [--percent P] [--warmups N] [--iterations N]
    /// --result PATH --output PATH`.
    /// - Throws: ``ComparisonError/badArguments(_:)``.
    init(arguments: [String]) throws {
        var values: [String: String] = [:]
        var remaining = arguments[...]
        while let flag = remaining.popFirst() {
            guard flag.hasPrefix("--"), let value = remaining.popFirst() else {
                throw ComparisonError.badArguments("compare-row: expected --flag VALUE pairs, got \(flag)")
            }
            values[String(flag.dropFirst(2))] = value
        }
        func integer(_ name: String, _ fallback: Int) throws -> Int {
            guard let text = values[name] else { return fallback }
            guard let value = Int(text), value >= 0 else { throw ComparisonError.badArguments("--\(name) must be a count, got \(text)") }
            return value
        }
        guard let name = values["model"], let model = ComparisonModel.named(name) else {
            throw ComparisonError.badArguments("--model must be one of \(ComparisonModel.all.map(\.name))")
        }
        guard let row = values["row"], Self.rows.contains(row) else {
            throw ComparisonError.badArguments("--row must be one of \(Self.rows)")
        }
        guard let work = values["work"], let result = values["result"], let output = values["output"] else {
            throw ComparisonError.badArguments("compare-row needs --work, --result and --output")
        }
        self.model = model
        self.row = row
        self.work = work
        resultPath = result
        outputPath = output
        batch = try integer("batch", 1)
        percent = try integer("percent", 0)
        warmups = try integer("warmups", 1)
        iterations = max(1, try integer("iterations", 3))
        guard batch >= 1 else { throw ComparisonError.badArguments("--batch must be at least 1") }
    }

    /// Runs the row and writes its files.
    /// - Throws: model loading, file and row errors.
    func run() throws {
        let paths = ComparisonPaths(work: work)
        let directory = row == "pruned" ? paths.prunedDirectory(model, percent: percent) : paths.modelDirectory(model)
        let baselineBytes = LoadingBenchmark.residentBytes()
        let loadStart = Date()
        let loaded = try ComparisonRegistry.shared.loadModel(directory: directory)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        var firstOutput: [String: Tensor] = [:]
        let body: () throws -> [String: Tensor]
        // The pruned row also times the unpruned model in the same process, alternating calls, so that the
        // speedup does not depend on what else the machine was doing between two processes.
        var denseBody: (() throws -> [String: Tensor])?
        switch row {
        case "forward", "pruned":
            let inputs = try Self.tensors(in: paths.forwardInputs(model, batch: row == "pruned" ? 1 : batch))
            body = { ["output": try withoutGradients { try loaded.forward(inputs, masks: .none) }] }
            if row == "pruned" {
                let dense = try ComparisonRegistry.shared.loadModel(directory: paths.modelDirectory(model))
                denseBody = { ["output": try withoutGradients { try dense.forward(inputs, masks: .none) }] }
            }
        case "backward":
            body = try Self.forwardBackward(loaded, inputs: Self.tensors(in: paths.forwardInputs(model, batch: 1)), masksPath: paths.masks(model))
        default:
            body = try Self.iteration(loaded, trajectoryPath: paths.trajectory(model))
        }
        var seconds: [Double] = []
        var denseSeconds: [Double] = []
        // GEMM operations of one call of each body (the work a FLOP-proportional speed-up would follow).
        var operations = 0
        var denseOperations = 0
        for call in 0..<(warmups + iterations) {
            if let denseBody, call % 2 == 1 {
                let elapsed = try Self.wallSeconds { _ = try denseBody() }
                if call >= warmups { denseSeconds.append(elapsed) }
            }
            var produced: [String: Tensor] = [:]
            let start = OperationCounter.total
            let elapsed = try Self.wallSeconds { produced = try body() }
            if call == 0 {
                firstOutput = produced
                operations = OperationCounter.total - start
            }
            if call >= warmups { seconds.append(elapsed) }
            if let denseBody, call % 2 == 0 {
                let denseStart = OperationCounter.total
                let elapsed = try Self.wallSeconds { _ = try denseBody() }
                if call == 0 { denseOperations = OperationCounter.total - denseStart }
                if call >= warmups { denseSeconds.append(elapsed) }
            }
        }
        try SafetensorsWriter.write(firstOutput, to: outputPath)
        var result: [String: Any] = [
            "seconds": seconds, "load_seconds": loadSeconds, "parameters": loaded.parameters.parameterCount,
            "threads": ComputeThreads.count, "baseline_rss_bytes": baselineBytes, "gemm_operations": operations,
        ]
        if denseBody != nil {
            result["dense_seconds"] = denseSeconds
            result["dense_gemm_operations"] = denseOperations
        }
        try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]).write(to: URL(fileURLWithPath: resultPath), options: .atomic)
    }

    /// Wall-clock seconds of one call of `body`.
    private static func wallSeconds(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Every tensor of a safetensors file, by name.
    static func tensors(in path: String) throws -> [String: Tensor] {
        let file = try SafetensorsFile.open(path)
        var tensors: [String: Tensor] = [:]
        for key in file.keys { tensors[key] = try file.tensor(key) }
        return tensors
    }

    /// Forward on the tape with mask leaves, then backward of `sum(output · loss_weights)`.
    /// Returns the output and `grad.<module key>` of every mask.
    private static func forwardBackward(_ model: any PrunableModel, inputs: [String: Tensor], masksPath: String) throws
        -> () throws -> [String: Tensor]
    {
        let file = try tensors(in: masksPath)
        guard let weights = file["loss_weights"] else {
            throw ComparisonError.missingFile(path: masksPath, reason: "no tensor named loss_weights")
        }
        var leaves: [String: Tensor] = [:]
        for group in model.comparedUnitGroups {
            guard let values = file[UnitMasks.filePrefix + group.moduleKey] else {
                throw ComparisonError.missingFile(path: masksPath, reason: "no tensor named \(UnitMasks.filePrefix + group.moduleKey)")
            }
            leaves[group.moduleKey] = Tensor(storage: values.storage, layout: values.layout, requiresGradient: true)
        }
        let masks = UnitMasks(leaves)
        return {
            for leaf in leaves.values { leaf.zeroGradient() }
            let output = try withGradients {
                let output = try model.forward(inputs, masks: masks)
                (output * weights).sum().backward()
                return output
            }
            var produced = ["output": output.detached()]
            for (key, leaf) in leaves { produced["grad.\(key)"] = leaf.gradient ?? Tensor.zeros(leaf.shape) }
            return produced
        }
    }

    /// One EcoDiff mask-learning iteration with time-step gradient checkpointing and an AdamW step.
    /// Returns `loss`, `reconstruction`, `penalty` and `grad.<module key>` (the λ gradients before the step).
    private static func iteration(_ model: any PrunableModel, trajectoryPath: String) throws -> () throws -> [String: Tensor] {
        let file = try SafetensorsFile.open(trajectoryPath)
        guard let settingsText = file.metadata["trajectory"],
            let settings = try JSONSerialization.jsonObject(with: Data(settingsText.utf8)) as? [String: Any],
            let schedulerName = settings["scheduler"] as? String, let steps = settings["steps"] as? Int,
            let guidance = settings["guidance_scale"] as? Double, let height = settings["height"] as? Int,
            let width = settings["width"] as? Int
        else { throw ComparisonError.missingFile(path: trajectoryPath, reason: "__metadata__.trajectory is missing or malformed") }
        let conditioning = PromptConditioning(
            ["prompt_embeds": try file.tensor("prompt_embeds"), "pooled_prompt_embeds": try file.tensor("pooled_prompt_embeds")],
            source: trajectoryPath)
        let prepared = try model.trajectory(
            conditioning: conditioning,
            settings: TrajectorySettings(
                scheduler: try SchedulerPreset(name: schedulerName), steps: steps, guidanceScale: Float(guidance), height: height, width: width),
            seed: 0)
        let trajectory = prepared.trajectory
        let noise = try file.tensor("noise")
        let ecoDiff = model.ecoDiffSettings
        let masks = MaskSet(groups: model.comparedUnitGroups, parametrization: ecoDiff.parametrization)
        var optimizer = MaskTrainer.optimizer(for: masks, learningRates: ecoDiff.learningRates)
        var objective = ecoDiff.objective
        objective.mode = .checkpointed
        let maskNoise = MaskNoise(seed: ComparisonModel.maskNoiseSeed)
        return {
            let target = try EcoDiffObjective.target(of: trajectory, noise: noise)
            let value = try objective.accumulateGradients(trajectory, noise: noise, target: target, masks: masks, maskNoise: maskNoise)
            var produced = [
                "loss": Tensor([value.total], shape: [1]), "reconstruction": Tensor([value.reconstruction], shape: [1]),
                "penalty": Tensor([value.penalty], shape: [1]),
            ]
            for (key, gradient) in masks.gradients { produced["grad.\(key)"] = gradient.contiguous() }
            optimizer.step()
            optimizer.zeroGradients()
            return produced
        }
    }
}
