import ArgumentParser
import Foundation
import PruneDemo
import PruneKit
import PrunePipelines
import PruneTensor
import PruneVAE

/// `prunekit generate`: text to image through a whole pipeline — the pipeline's own text encoders, the denoising
/// loop (optionally masked), and its VAE — as diffusers' `StableDiffusionXLPipeline` / `FluxPipeline` do.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate an image from a prompt with a pipeline (SDXL or FLUX, folder or SDXL single file) and write a PNG.",
        discussion: """
            The prompt goes through the pipeline's tokenizers and text encoders (as encode-prompt), the denoiser runs the \
            schedule (the pipeline's scheduler_config.json and the family's preset unless --preset or --scheduler say \
            otherwise), and the VAE decodes the final latents (in float32; untiled as diffusers does, in tiles above 1024² \
            pixels or with --tiled): SDXL \
            `latents / scaling_factor`, FLUX unpacked then `/ scaling_factor + shift_factor`. --latents takes the initial \
            noise as `sample --noise` does (SDXL unscaled [1, C, h, w], FLUX packed); --latents-output writes the final \
            latents before decoding (diffusers' output_type="latent"). A pruned pipeline (a `prunekit prune` export of a \
            pipeline folder) generates the same way; --masks applies unit masks to the original instead.
            """)

    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Where to write the PNG.") var output: String
    @Option(help: "Also write the final latents (before decoding) to this safetensors file.") var latentsOutput: String?
    @Flag(help: "Decode in tiles whatever the size (bounded memory; tiles blend as diffusers' tiled decode does).") var tiled = false
    @Flag(help: "Replace an existing --output or --latents-output written by PruneKit (nothing else is ever replaced).") var overwrite = false

    var outputRequests: [OutputRequest] {
        [OutputRequest(flag: "--output", path: output, kind: .file(.png))]
            + (latentsOutput.map { [OutputRequest(flag: "--latents-output", path: $0, kind: .file(.safetensors))] } ?? [])
    }

    func validate() throws {
        guard PipelineTextConditioning.canLoad(sampling.model) else {
            throw ValidationError(
                "--model \(sampling.model) is not a diffusers pipeline folder or an SDXL single file: generate needs the pipeline's VAE")
        }
        for (flag, value) in [("--height", sampling.height), ("--width", sampling.width)] {
            if let value, value < 16 || value % 16 != 0 {
                throw ValidationError("\(flag) must be a positive multiple of 16 (the VAE's factor × the latent packing), got \(value)")
            }
        }
        try CommandOutputs.validate(outputRequests, inputs: sampling.inputPaths)
    }

    func run() throws {
        let claim = try CommandOutputs.claim(outputRequests, inputs: sampling.inputPaths, overwrite: overwrite)
        defer { claim.release() }
        let started = Date()
        let vae = try Self.loadVAE(sampling.model)  // a VAE that does not match its weights fails before any denoising
        let result = try sampling.run(trace: false)
        let latents = result.tensors["latents"]!
        if let latentsOutput {
            try SafetensorsWriter.write(
                ["latents": latents], metadata: ["prunekit.output": "generate-latents", "seed": String(sampling.seed)], to: latentsOutput)
        }
        printProgress("decoding with the VAE")
        let image = try Self.decode(result, with: vae, tiled: tiled)
        let pictures = try VAEImageProcessor.rgb8Images(image)
        let picture = pictures[0]
        try PNGFile.write(RGBImage(width: picture.width, height: picture.height, bytes: picture.bytes), to: output)
        print("wrote \(output) (\(picture.width)×\(picture.height), \(String(format: "%.1f", Date().timeIntervalSince(started))) s)")
    }

    /// The final latents of `result` decoded by `vae` to `[1, 3, H, W]` in [-1, 1]: untiled as diffusers decodes
    /// unless tiling is enabled, up to ``untiledPixelBudget`` (SDXL's VAE needs about 9.4 GB at 1024² for its widest
    /// im2col, computed), then in diffusers' tiles, or always in tiles when `tiled`.
    static func decode(_ result: SamplingOptions.Result, with vae: AutoencoderKL, tiled: Bool) throws -> Tensor {
        let latents = result.tensors["latents"]!
        let mode: VAEDecodeMode =
            tiled ? .tiled(VAETiling(configuration: vae.configuration)) : .budget(pixelBudget: untiledPixelBudget, tiling: nil)
        return try withoutGradients {
            result.packedLatents
                ? try vae.decodeFluxLatents(latents, height: result.pixelHeight, width: result.pixelWidth, mode: mode)
                : try vae.decodeSDXLLatents(latents, mode: mode)
        }
    }

    /// The largest image (in pixels) decoded untiled by default.
    static let untiledPixelBudget = 1024 * 1024

    /// The VAE of a pipeline folder (`vae/`) or of an SDXL single file (`first_stage_model.*`).
    static func loadVAE(_ model: String) throws -> AutoencoderKL {
        let component = PipelineFolder.isPipelineFolder(model) ? try PipelineFolder(path: model).component("vae") : try SDXLSingleFile(path: model).component("vae")
        let configuration = try AutoencoderKLConfiguration(json: try component.configuration.jsonData(), source: component.origin + "/config.json")
        return try AutoencoderKL(configuration: configuration, tensors: component.tensors, sourceName: component.origin)
    }
}
