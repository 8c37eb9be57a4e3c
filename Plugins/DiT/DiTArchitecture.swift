import PrunePluginKit

/// DiT as a PruneKit architecture: presets, the DDIM schedule DiT samples with, and model building.
///
/// Conditioning: `class_labels` `[1, 1001]`, a one-hot row over ImageNet's 1000 classes plus DiT's null
/// class (index 1000, used for classifier-free guidance); the label embedding is `class_labels · table`,
/// which for a one-hot row is DiT's embedding lookup. Random conditioning (`--random-prompts`) gives soft
/// rows — good for measuring, meaningless as classes.
final class DiTArchitecture: ArchitecturePlugin {
    /// ImageNet classes (the null class comes on top).
    static let classCount = 1000

    var name: String { "dit" }
    var summary: String { "DiT (adaLN-Zero transformer on 2×2 latent patches), class-conditional, DDIM" }
    var classNames: [String] { ["DiT"] }
    var presets: [ArchitecturePreset] {
        [
            ArchitecturePreset(
                name: "dit-test", summary: "test-size DiT (hidden 64, depth 2, 4 heads), 64² images, 4 steps",
                configurationJSON: DiTConfiguration.json(hidden: 64, depth: 2, heads: 4, frequency: 32), steps: 4, height: 64, width: 64),
            ArchitecturePreset(
                name: "dit-s-2", summary: "DiT-S/2 (hidden 384, depth 12, 6 heads), 256² images, 8 DDIM steps",
                configurationJSON: DiTConfiguration.json(hidden: 384, depth: 12, heads: 6), steps: 8, height: 256, width: 256),
            ArchitecturePreset(
                name: "dit-xl-2", summary: "DiT-XL/2 (hidden 1152, depth 28, 16 heads), 256² images, 50 DDIM steps, CFG 1.5",
                configurationJSON: DiTConfiguration.json(hidden: 1152, depth: 28, heads: 16), steps: 50, guidanceScale: 1.5,
                height: 256, width: 256),
        ]
    }
    /// DiT's diffusion: 1000 steps of linear betas 1e-4 … 0.02, ε-prediction; sampled with DDIM.
    var schedulerJSON: String {
        """
        {"_class_name": "DDIMScheduler", "num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, \
        "beta_schedule": "linear", "clip_sample": false, "set_alpha_to_one": true, "steps_offset": 0, \
        "prediction_type": "epsilon", "timestep_spacing": "leading"}
        """
    }
    var inputNames: [String] { ["sample", "timestep", "class_labels"] }
    var conditioning: [(name: String, shape: [Int])] { [("class_labels", [1, Self.classCount + 1])] }
    var latentChannels: Int { 4 }

    func buildModel(_ builder: ModelBuilderView) throws -> any PluginModelInstance {
        try DiTModel(configuration: DiTConfiguration(builder), builder: builder)
    }
}
