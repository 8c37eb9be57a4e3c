import PrunePluginKit

/// Step 1 — the architecture: what the host needs to know before any model exists. `prunekit` lists it in
/// `plugins list`, builds its presets from a seed (`--preset tiny-denoiser`), and loads any model directory
/// whose `config.json` says `"_class_name": "TinyDenoiser"` (that includes PruneKit's own exports of it).
///
/// TinyDenoiser is an unconditional flow-matching transformer over 2×2 patches of the latents: patch
/// embedding + learned position embedding + timestep embedding, then `num_layers` pre-norm blocks
/// (multi-head self-attention, GELU feed-forward), then a linear back to patches. It predicts the velocity
/// `v = noise − x₀` that the flow-match Euler scheduler integrates.
final class TinyDenoiserArchitecture: ArchitecturePlugin {
    var name: String { "tiny-denoiser" }
    var summary: String { "example: unconditional patch transformer (attention + FFN blocks), flow-match Euler" }
    /// The `config.json` `_class_name` values this plugin loads.
    var classNames: [String] { ["TinyDenoiser"] }

    /// Presets: a configuration (it becomes the `config.json` of every export, so it is all a reload needs
    /// besides the weights) and the default trajectory. The host draws the weights from `--seed`.
    var presets: [ArchitecturePreset] {
        [
            ArchitecturePreset(
                name: "tiny-denoiser", summary: "hidden 32, 2 layers × 4 heads, FFN 128; 64² images (8×8 latents), 4 steps",
                configurationJSON: Self.configuration(sampleSize: 8, hidden: 32, layers: 2, heads: 4, ffn: 128), steps: 4, height: 64, width: 64),
            ArchitecturePreset(
                name: "tiny-denoiser-wide", summary: "hidden 128, 4 layers × 8 heads, FFN 512; 128² images, 8 steps",
                configurationJSON: Self.configuration(sampleSize: 16, hidden: 128, layers: 4, heads: 8, ffn: 512), steps: 8, height: 128, width: 128),
        ]
    }

    static func configuration(sampleSize: Int, hidden: Int, layers: Int, heads: Int, ffn: Int) -> String {
        """
        {"_class_name": "TinyDenoiser", "in_channels": 4, "sample_size": \(sampleSize), "patch_size": 2, \
        "hidden_size": \(hidden), "num_layers": \(layers), "num_attention_heads": \(heads), "ffn_dim": \(ffn), \
        "frequency_embedding_size": 32}
        """
    }

    /// Step 2 — the trajectory. The host runs the denoising loop: for each step it calls the model's
    /// `predict` with `sample` (the scheduler-scaled latents) and `timestep` `[1]`, then applies the scheduler
    /// named here — a diffusers `scheduler_config.json` (or a PruneKit scheduler preset name such as
    /// `flux-schnell`). Flow-match Euler with shift 1: σ from 1 down to 1/n, timestep = 1000·σ,
    /// `x ← x + (σ_next − σ)·v`. Calibration criteria (taylor, ecodiff, …) differentiate through this loop.
    var schedulerJSON: String {
        #"{"_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000, "shift": 1.0, "use_dynamic_shifting": false}"#
    }

    /// The forward's named inputs. `sample` and `timestep` are always given; the rest are conditioning.
    var inputNames: [String] { ["sample", "timestep"] }
    /// Conditioning tensors of one prompt (`[1, …]` shapes): none, the model is unconditional, so
    /// `--random-prompts N` only sets how many calibration trajectories (noise seeds) there are.
    var conditioning: [(name: String, shape: [Int])] { [] }
    /// Latents are `[1, latentChannels, height/8, width/8]`.
    var latentChannels: Int { 4 }

    /// Step 3 — build a model: the host calls this for a preset (parameters drawn from the seed), for a
    /// model directory (parameters read from its safetensors), and for `params --preset` (shapes only).
    func buildModel(_ builder: ModelBuilderView) throws -> any PluginModelInstance {
        try TinyDenoiserModel(builder)
    }
}
