import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// A demo model on disk: a diffusers model directory (so `prunekit params/forward/sample/prune` load the
/// denoiser as they load any SDXL U-Net or FLUX transformer) plus the text side and the model card.
///
/// ```
/// config.json                          the denoiser's diffusers config (_class_name names the family)
/// diffusion_pytorch_model.safetensors  the denoiser's EMA weights (float16 for the shipped models)
/// text_encoder.safetensors             the text encoder's EMA weights
/// text_encoder_config.json             DemoTextEncoderConfiguration
/// tokenizer.json                       PromptTokenizer (words and length)
/// scheduler_config.json                the scheduler the model samples with
/// demo.json                            DemoModelCard: training command, settings, loss, adherence
/// samples.png, loss.png                one sample per prompt, the loss curve
/// ```
public enum DemoModelDirectory {
    public static let textEncoderWeights = "text_encoder.safetensors"
    public static let textEncoderConfiguration = "text_encoder_config.json"
    public static let tokenizer = "tokenizer.json"
    public static let scheduler = "scheduler_config.json"
    public static let card = "demo.json"
    public static let samples = "samples.png"
    public static let lossChart = "loss.png"

    /// Writes `model` (its current weights, stored as `dtype`) with `card` and the images, all at once (a
    /// reader never sees a partial directory).
    /// - Throws: `ExportError`, `SafetensorsError`, ``DemoModelError``.
    public static func write(
        _ model: DemoModel, card: DemoModelCard?, samples: RGBImage?, lossChart: RGBImage?, to directory: String, replacing: Bool = true,
        dtype: DType = .float32
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let denoiserConfiguration: Data
        switch model.denoiser {
        case .sdxl(let unet): denoiserConfiguration = try unet.configurationJSON(sourceDirectory: nil)
        case .flux(let transformer): denoiserConfiguration = try transformer.configurationJSON(sourceDirectory: nil)
        }
        try AtomicDirectoryWriter.write(to: directory, replacing: replacing, kind: "demo-model") { root in
            func path(_ name: String) -> String { URL(fileURLWithPath: root).appendingPathComponent(name).path }
            try denoiserConfiguration.write(to: URL(fileURLWithPath: path("config.json")))
            try SafetensorsWriter.write(model.denoiserParameters.parameters, to: path("diffusion_pytorch_model.safetensors"), dtype: dtype)
            try writeTextSide(model, into: root, dtype: dtype)
            if let card { try encoder.encode(card).write(to: URL(fileURLWithPath: path(self.card))) }
            if let samples { try PNGFile.write(samples, to: path(self.samples)) }
            if let lossChart { try PNGFile.write(lossChart, to: path(self.lossChart)) }
        }
    }

    /// Writes what a demo model needs besides its denoiser into `directory`: the text encoder (as `dtype`), its
    /// configuration, the tokenizer and the scheduler config.
    /// - Throws: `SafetensorsError` and file errors.
    public static func writeTextSide(_ model: DemoModel, into directory: String, dtype: DType = .float32) throws {
        func path(_ name: String) -> String { URL(fileURLWithPath: directory).appendingPathComponent(name).path }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let schedulerConfiguration: SchedulerConfiguration =
            switch model.architecture {
            case .sdxl: .ddim(DemoArchitecture.sdxlScheduler)
            case .flux: .flowMatchEulerDiscrete(DemoArchitecture.fluxScheduler)
            }
        try SafetensorsWriter.write(model.textEncoderParameters.parameters, to: path(textEncoderWeights), dtype: dtype)
        try encoder.encode(model.textEncoder.configuration).write(to: URL(fileURLWithPath: path(textEncoderConfiguration)))
        try model.tokenizer.vocabularyJSON().write(to: URL(fileURLWithPath: path(tokenizer)))
        try schedulerConfiguration.jsonData().write(to: URL(fileURLWithPath: path(scheduler)))
    }

    /// Whether `directory` is a demo model (it carries a demo text encoder next to its denoiser).
    public static func isDemoModel(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: URL(fileURLWithPath: directory).appendingPathComponent(textEncoderConfiguration).path)
    }

    /// Loads a demo model directory. The denoiser may be a pruned export (its widths are read from the
    /// weights); its tokenizer and text encoder come from `textDirectory` when given (e.g. the unpruned
    /// model a pruned export was made from), else from `directory` itself. The weights are held as float32 whatever the files store.
    /// - Throws: ``DemoModelError/badFile(path:reason:)`` for a missing or malformed text-side file, and the
    ///   denoiser loaders' errors.
    public static func load(_ directory: String, textDirectory: String? = nil) throws -> DemoModel {
        let root = URL(fileURLWithPath: textDirectory ?? directory)
        func path(_ name: String) -> String { root.appendingPathComponent(name).path }
        let tokenizer = try PromptTokenizer.load(path: path(tokenizer))
        guard let configurationData = FileManager.default.contents(atPath: path(textEncoderConfiguration)) else {
            throw DemoModelError.badFile(path: path(textEncoderConfiguration), reason: "missing (a demo model needs its text encoder)")
        }
        let textConfiguration: DemoTextEncoderConfiguration
        do { textConfiguration = try JSONDecoder().decode(DemoTextEncoderConfiguration.self, from: configurationData) } catch {
            throw DemoModelError.badFile(path: path(textEncoderConfiguration), reason: "\(error)")
        }
        try textConfiguration.validate()
        guard textConfiguration.vocabularySize == tokenizer.vocabularySize, textConfiguration.length == tokenizer.length else {
            throw DemoModelError.badFile(
                path: path(textEncoderConfiguration),
                reason: "vocab_size \(textConfiguration.vocabularySize) / length \(textConfiguration.length) do not match the tokenizer's \(tokenizer.vocabularySize) / \(tokenizer.length)")
        }
        let textSource = try SafetensorsTensorSource(file: path(textEncoderWeights))
        let textStore = ParameterStore(source: textSource, sourceName: textSource.name)
        let textEncoder = DemoTextEncoder(textConfiguration, weights: textStore.root)
        try textStore.finish()

        let denoiser: DemoDenoiser
        let store: ParameterStore
        switch try ArchitectureRegistry.className(directory: directory) {
        case UNet2DConditionModel.className:
            let (unet, parameters) = try UNet2DConditionModel.load(directory: directory)
            (denoiser, store) = (.sdxl(unet), parameters)
        case FluxConfiguration.className:
            let loaded = try FluxModelLoader.load(directory: directory, widths: .inferredFromWeights)
            (denoiser, store) = (.flux(loaded.model), loaded.parameters)
        case let other:
            throw DemoModelError.badFile(path: URL(fileURLWithPath: directory).appendingPathComponent("config.json").path, reason: "_class_name \(other) is not a demo denoiser (UNet2DConditionModel or FluxTransformer2DModel)")
        }
        // The files may hold float16 (the embedded models do); widened once here, the resident weights are float32,
        // so sampling and timings measure compute rather than the per-call widening of 16-bit weights — a pruned
        // export written as float32 and its float16 original are then timed alike. Widening is exact.
        for tensor in Array(store.parameters.values) + Array(textStore.parameters.values) { tensor.widenInPlace() }
        return DemoModel(
            tokenizer: tokenizer, textEncoder: textEncoder, textEncoderParameters: textStore, denoiser: denoiser, denoiserParameters: store)
    }

    /// The model card of `directory`, if it has one.
    /// - Throws: ``DemoModelError/badFile(path:reason:)`` for a malformed card.
    public static func card(_ directory: String) throws -> DemoModelCard? {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(card).path
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do { return try JSONDecoder().decode(DemoModelCard.self, from: data) } catch {
            throw DemoModelError.badFile(path: path, reason: "\(error)")
        }
    }
}

extension DemoModel {
    /// Overwrites the weights with `textEncoder` and `denoiser` maps (keys without prefixes), e.g. a
    /// trainer's EMA averages.
    /// - Throws: ``DemoModelError/badFile(path:reason:)`` naming a missing or mis-shaped key.
    public func assign(textEncoder: [String: Tensor], denoiser: [String: Tensor]) throws(DemoModelError) {
        for (store, values, name) in [(textEncoderParameters, textEncoder, "text encoder"), (denoiserParameters, denoiser, "denoiser")] {
            for (key, tensor) in store.parameters {
                guard let value = values[key], value.shape == tensor.shape else {
                    throw .badFile(path: name, reason: "no weight \(key) of shape \(tensor.shape)")
                }
                tensor.assign(value)
            }
        }
    }

    /// Rounds every weight to the nearest `dtype` value (e.g. float16, as the shipped files store them),
    /// so that what is evaluated is exactly what is written.
    public func roundWeights(to dtype: DType) {
        for store in [textEncoderParameters, denoiserParameters] {
            for tensor in store.parameters.values { tensor.assign(tensor.converted(to: dtype).converted(to: .float32)) }
        }
    }
}
