import Foundation
import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// One of the two models of the side-by-side comparison with PyTorch, and every input its rows use.
///
/// - `sdxl`: ``UNetConfiguration/sdxlBench`` (209 M parameters) on a 32×32 latent (a 256² image) with 77
///   text tokens of width 768; trajectories use SDXL base's Euler schedule with classifier-free guidance 5
///   (the U-Net sees batch 2 at every step).
/// - `flux`: ``FluxConfiguration/fluxBench`` (72 M parameters) on 256 packed image tokens (a 256² image) with
///   128 text tokens of width 1024; trajectories use FLUX-dev's shifted flow-match schedule with embedded
///   guidance 3.5.
///
/// The weights come from the preset's seed; the inputs from fixed seeds. Both sides of the comparison read
/// the files ``ComparisonSetup`` writes from these definitions, so they run on identical numbers.
struct ComparisonModel: Sendable {
    /// `sdxl` or `flux`: the folder name under the work directory and the row prefix.
    let name: String
    /// The model preset of ``ArchitectureRegistry`` that builds the weights.
    let preset: String
    /// The schedule of the mask-learning iteration.
    let scheduler: SchedulerPreset
    /// Classifier-free (SDXL) or embedded (FLUX) guidance of the trajectory.
    let guidanceScale: Float
    /// Image side in pixels of the trajectory (latents are `side / 8`).
    let imageSide: Int

    /// Seed of the weights (``ArchitectureRegistry/makeModel(preset:seed:)``).
    static let weightSeed: UInt64 = 1
    /// Seed of the mask-noise draws of the mask-learning iteration.
    static let maskNoiseSeed: UInt64 = 5

    static let sdxl = ComparisonModel(name: "sdxl", preset: "sdxl-bench", scheduler: .sdxlBase, guidanceScale: 5, imageSide: 256)
    static let flux = ComparisonModel(name: "flux", preset: "flux-bench", scheduler: .fluxDev, guidanceScale: 3.5, imageSide: 256)
    static let all = [sdxl, flux]

    /// The model called `name`, or `nil`.
    static func named(_ name: String) -> ComparisonModel? { all.first { $0.name == name } }

    /// The trajectory of the mask-learning iteration with `steps` steps.
    func trajectorySettings(steps: Int) -> TrajectorySettings {
        TrajectorySettings(scheduler: scheduler, steps: steps, guidanceScale: guidanceScale, height: imageSide, width: imageSide)
    }

    /// Inputs of one forward at `batch`, named as diffusers' `forward` arguments.
    ///
    /// SDXL: `sample` `[B, 4, 32, 32]`, `timestep` `[B]` (500), `encoder_hidden_states` `[B, 77, 768]`,
    /// `text_embeds` `[B, 512]`, `time_ids` `[B, 6]` (256², no crop).
    /// FLUX: `hidden_states` `[B, 256, 64]`, `timestep` `[B]` (0.5), `encoder_hidden_states` `[B, 128, 1024]`,
    /// `pooled_projections` `[B, 256]`, `img_ids` `[256, 3]`, `txt_ids` `[128, 3]`, `guidance` `[B]` (3.5).
    func forwardInputs(batch: Int) -> [String: Tensor] {
        let seed = UInt64(100 * batch)
        switch name {
        case "sdxl":
            let side = imageSide / 8
            let size = Float(imageSide)
            return [
                "sample": Tensor.randomNormal([batch, 4, side, side], seed: seed + 1),
                "timestep": Tensor(Array(repeating: 500, count: batch), shape: [batch]),
                "encoder_hidden_states": Tensor.randomNormal([batch, 77, 768], seed: seed + 2),
                "text_embeds": Tensor.randomNormal([batch, 512], seed: seed + 3),
                "time_ids": Tensor(Array(repeating: [size, size, 0, 0, size, size], count: batch).flatMap { $0 }, shape: [batch, 6]),
            ]
        default:
            let grid = imageSide / 16
            return [
                "hidden_states": Tensor.randomNormal([batch, grid * grid, 64], seed: seed + 1),
                "timestep": Tensor(Array(repeating: 0.5, count: batch), shape: [batch]),
                "encoder_hidden_states": Tensor.randomNormal([batch, 128, 1024], seed: seed + 2),
                "pooled_projections": Tensor.randomNormal([batch, 256], seed: seed + 3),
                "img_ids": FluxLatentPacking.imageIDs(rows: grid, columns: grid),
                "txt_ids": FluxLatentPacking.textIDs(count: 128),
                "guidance": Tensor(Array(repeating: 3.5, count: batch), shape: [batch]),
            ]
        }
    }

    /// One prompt's conditioning for the trajectory: `prompt_embeds` and `pooled_prompt_embeds`, batch 1
    /// (SDXL's negative prompt is the pipeline's zeros).
    func promptConditioning() -> [String: Tensor] {
        switch name {
        case "sdxl":
            ["prompt_embeds": Tensor.randomNormal([1, 77, 768], seed: 11), "pooled_prompt_embeds": Tensor.randomNormal([1, 512], seed: 12)]
        default:
            ["prompt_embeds": Tensor.randomNormal([1, 128, 1024], seed: 11), "pooled_prompt_embeds": Tensor.randomNormal([1, 256], seed: 12)]
        }
    }
}

/// Where the comparison's files live under the work directory.
struct ComparisonPaths: Sendable {
    let work: String

    func modelDirectory(_ model: ComparisonModel) -> String { "\(work)/\(model.name)/model" }
    func prunedDirectory(_ model: ComparisonModel, percent: Int) -> String { "\(work)/\(model.name)/pruned-\(percent)" }
    func forwardInputs(_ model: ComparisonModel, batch: Int) -> String { "\(work)/\(model.name)/inputs-b\(batch).safetensors" }
    /// Mask values and loss weights of the forward + backward row.
    func masks(_ model: ComparisonModel) -> String { "\(work)/\(model.name)/masks.safetensors" }
    /// Conditioning, initial noise and mask-noise draws of the mask-learning iteration.
    func trajectory(_ model: ComparisonModel) -> String { "\(work)/\(model.name)/trajectory.safetensors" }
    /// Summary of what was written (parameter counts, pruning results).
    var manifest: String { "\(work)/setup.json" }
}
