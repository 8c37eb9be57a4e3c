import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL

/// What cutting a LoRA to a pruned export needs to know, read from the export alone: the unpruned model's
/// unit groups and parameter shapes (from its `config.json`, which an export keeps unchanged, built without
/// weights), the kept units (`prunekit.json`), and the surgery that produced the pruned weights — checked
/// against the shapes the export's weights really have.
///
/// ```swift
/// let layout = try PrunedDenoiserLayout(path: "sdxl-pruned/")   // a denoiser folder or a pruned pipeline folder
/// layout.surgery.keptIndices["down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight"]?[0]   // kept rows
/// ```
public struct PrunedDenoiserLayout: Sendable {
    /// The pruned denoiser's folder (the given folder, or its `unet/` / `transformer/`).
    public let directory: String
    /// Its `prunekit.json`.
    public let manifest: ExportManifest
    /// The diffusers class (`UNet2DConditionModel` or `FluxTransformer2DModel`).
    public let architecture: String
    /// The unpruned model's unit groups, in model order.
    public let groups: [UnitGroup]
    /// Every parameter of the unpruned model with its shape.
    public let originalShapes: [String: [Int]]
    /// The pruning: kept indices of every weight it narrows.
    public let surgery: ParameterSurgery
    /// LoRA module names → the model's modules (the pruned model has the same keys as the unpruned one).
    public let resolver: LoRANameResolver

    /// Reads the export at `path`: a pruned denoiser folder (`config.json`, `prunekit.json`, weights) or a
    /// pruned pipeline folder (`model_index.json`, the denoiser in `unet/` or `transformer/`).
    ///
    /// - Throws: ``LoRAAdaptationError``: not a PruneKit export, an architecture other than SDXL or FLUX, a
    ///   `prunekit.json` that does not describe the configuration, or weights whose shapes are not what the
    ///   manifest's kept units give.
    public init(path: String) throws(LoRAAdaptationError) {
        let directory = try Self.denoiserDirectory(path)
        self.directory = directory
        do { manifest = try ExportManifest.load(directory: directory) } catch { throw .notAPrunedExport(path: path, reason: error.description) }
        let configurationPath = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
        let className: String
        do { className = try ArchitectureRegistry.className(directory: directory) } catch {
            throw .configuration(path: configurationPath, reason: error.description)
        }
        architecture = className
        guard manifest.architecture == className else {
            throw .manifestMismatch(
                path: directory, module: "architecture", reason: "prunekit.json says \(manifest.architecture), config.json says \(className)")
        }
        switch className {
        case "UNet2DConditionModel":
            do {
                // A block-pruned export's config.json has the kept depths; the unpruned ones are prunekit.json's.
                let configuration = try UNetConfiguration.load(contentsOf: configurationPath)
                    .replacingTransformerDepths(Self.originalDepths(manifest))
                try configuration.validate()
                let layout = try UNet2DConditionModel.layout(of: configuration)
                groups = layout.groups
                originalShapes = layout.shapes
                resolver = .sdxl(configuration: configuration, parameterKeys: layout.shapes.keys)
            } catch {
                throw .configuration(path: configurationPath, reason: "\(error)")
            }
        case "FluxTransformer2DModel":
            do {
                var configuration = try FluxConfiguration.load(path: configurationPath)
                let depths = Self.originalDepths(manifest)
                configuration.doubleBlockCount = depths["transformer_blocks"] ?? configuration.doubleBlockCount
                configuration.singleBlockCount = depths["single_transformer_blocks"] ?? configuration.singleBlockCount
                try configuration.validate()
                let layout = FluxTransformer2DModel.layout(configuration: configuration)
                groups = layout.groups
                originalShapes = layout.shapes
                resolver = .flux(configuration: configuration, parameterKeys: originalShapes.keys)
            } catch {
                throw .configuration(path: configurationPath, reason: "\(error)")
            }
        default:
            throw .unsupportedArchitecture(path: configurationPath, className: className)
        }
        try Self.check(manifest: manifest, against: groups, directory: directory)
        do { surgery = try ParameterSurgery(groups: groups, selection: manifest.selection) { [originalShapes] in originalShapes[$0] } } catch {
            throw .manifestMismatch(path: directory, module: "selection", reason: error.description)
        }
        try Self.checkWeights(directory: directory, originalShapes: originalShapes, surgery: surgery)
    }

    /// The denoiser folder of a pruned denoiser or pipeline folder.
    static func denoiserDirectory(_ path: String) throws(LoRAAdaptationError) -> String {
        let manager = FileManager.default
        let base = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .notAPrunedExport(path: path, reason: "not a folder")
        }
        var candidates = [path]
        if manager.fileExists(atPath: base.appendingPathComponent(PipelineFolder.indexFileName).path) {
            candidates = PipelineFamily.allCases.map { base.appendingPathComponent($0.denoiser).path }
        }
        for candidate in candidates where manager.fileExists(atPath: URL(fileURLWithPath: candidate).appendingPathComponent("config.json").path) {
            guard manager.fileExists(atPath: URL(fileURLWithPath: candidate).appendingPathComponent(ExportManifest.fileName).path) else {
                throw .notAPrunedExport(path: path, reason: "\(candidate) has no \(ExportManifest.fileName); `prunekit prune` writes one with every export")
            }
            return candidate
        }
        throw .notAPrunedExport(
            path: path, reason: "expected a pruned model folder (config.json, prunekit.json) or a pruned pipeline folder (model_index.json, unet/ or transformer/)")
    }

    /// The unpruned depth of every block list `manifest` records, by list key.
    static func originalDepths(_ manifest: ExportManifest) -> [String: Int] {
        Dictionary(manifest.modules.filter { $0.kind == .block }.map { ($0.key, $0.originalUnits) }, uniquingKeysWith: { first, _ in first })
    }

    /// Every module of the configuration is in the manifest with its unit count, in order (a block list it leaves out
    /// kept every block).
    static func check(manifest: ExportManifest, against groups: [UnitGroup], directory: String) throws(LoRAAdaptationError) {
        let listed = Dictionary(manifest.modules.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        for group in groups where !(group.isBlockList && listed[group.moduleKey] == nil) {
            guard let module = listed[group.moduleKey] else {
                throw .manifestMismatch(path: directory, module: group.moduleKey, reason: "config.json has this module; prunekit.json does not list it")
            }
            guard module.originalUnits == group.unitCount, module.kind == group.kind else {
                throw .manifestMismatch(
                    path: directory, module: group.moduleKey,
                    reason: "prunekit.json gives \(module.originalUnits) \(module.kind.rawValue) units, config.json \(group.unitCount) \(group.kind.rawValue) units")
            }
        }
        let known = Set(groups.map(\.moduleKey))
        if let extra = manifest.modules.first(where: { !known.contains($0.key) }) {
            throw .manifestMismatch(path: directory, module: extra.key, reason: "prunekit.json lists a module config.json does not have")
        }
    }

    /// The export's weights have exactly the pruned shapes, under their pruned keys (blocks renumbered).
    static func checkWeights(directory: String, originalShapes: [String: [Int]], surgery: ParameterSurgery) throws(LoRAAdaptationError) {
        let source: SafetensorsTensorSource
        do { source = try SafetensorsTensorSource(modelDirectory: directory) } catch {
            throw .notAPrunedExport(path: directory, reason: error.description)
        }
        for key in originalShapes.keys.sorted() {
            guard let prunedKey = surgery.prunedKey(key) else { continue }  // in a removed block
            let expected = surgery.prunedShape(of: key, original: originalShapes[key]!)
            let actual = source.shape(of: prunedKey)
            guard actual == expected else { throw .prunedWeights(path: directory, key: prunedKey, expected: expected, actual: actual) }
        }
    }
}
