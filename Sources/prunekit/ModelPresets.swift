import ArgumentParser
import PruneFlux
import PruneSDXL

/// The named model presets the CLI knows, each with the configuration of its denoiser.
enum ModelPreset: String, CaseIterable, ExpressibleByArgument {
    case sdxlBase = "sdxl-base"
    case sdxlTurbo = "sdxl-turbo"
    case sdxlLightning = "sdxl-lightning"
    case fluxDev = "flux-dev"
    case fluxSchnell = "flux-schnell"

    /// The denoiser of the preset: SDXL-Turbo and SDXL-Lightning share SDXL base's U-Net.
    enum Denoiser {
        case unet(UNetConfiguration)
        case flux(FluxConfiguration)
    }

    var denoiser: Denoiser {
        switch self {
        case .sdxlBase, .sdxlTurbo, .sdxlLightning: .unet(.sdxlBase)
        case .fluxDev: .flux(.fluxDev)
        case .fluxSchnell: .flux(.fluxSchnell)
        }
    }
}
