import Foundation
import PruneDemo
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// The architectures the command line knows: SDXL and FLUX built in, plus those plugins add.
enum Architectures {
    /// The shared registry with the built-in architectures registered (once per process).
    static let registry: ArchitectureRegistry = {
        let registry = ArchitectureRegistry.shared
        try? registry.registerIfAbsent(SDXLArchitecture())
        try? registry.registerIfAbsent(FluxArchitecture())
        return registry
    }()

    /// Loads the model directory with the architecture its `config.json` names; a demo model directory (one
    /// with its own text encoder) loads as a ``DemoPrunableModel``, which encodes prompts and samples with
    /// the demo schedule.
    static func loadModel(directory: String) throws -> any PrunableModel {
        if DemoModelDirectory.isDemoModel(directory) { return try DemoPrunableModel(directory: directory) }
        return try registry.loadModel(directory: directory)
    }

    /// Every preset name: model presets, then scheduler presets that are not also model presets.
    static var presetNames: [String] {
        let models = registry.presets.map(\.preset.name)
        return models + SchedulerPreset.allCases.map(\.rawValue).filter { !models.contains($0) }
    }

    /// The trajectory defaults `--preset NAME` selects: a model preset's, or a scheduler preset with the
    /// model's own size and guidance defaults.
    /// - Throws: `ArchitectureRegistryError.unknownPreset` listing ``presetNames``.
    static func trajectorySettings(preset name: String) throws -> TrajectorySettings {
        if let (_, preset) = try? registry.preset(named: name) { return preset.trajectory }
        if let scheduler = try? SchedulerPreset(name: name) { return TrajectorySettings(scheduler: scheduler) }
        throw ArchitectureRegistryError.unknownPreset(name: name, known: presetNames)
    }
}

/// Errors the CLI reports in one line before exiting non-zero.
enum CLIError: Error, CustomStringConvertible {
    case missingFile(path: String, purpose: String)
    case invalidFile(path: String, reason: String)
    case missingInput(path: String, name: String)
    case badOption(String)

    var description: String {
        switch self {
        case .missingFile(let path, let purpose): "\(path) not found (\(purpose))"
        case .invalidFile(let path, let reason): "\(path): \(reason)"
        case .missingInput(let path, let name): "\(path) has no tensor named \(name)"
        case .badOption(let message): message
        }
    }
}
