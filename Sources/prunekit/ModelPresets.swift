import ArgumentParser
import PruneSDXL

/// The named model presets the CLI knows, each with the configuration of its denoiser.
enum ModelPreset: String, CaseIterable, ExpressibleByArgument {
    case sdxlBase = "sdxl-base"
    case sdxlTurbo = "sdxl-turbo"
    case sdxlLightning = "sdxl-lightning"

    /// The U-Net configuration of an SDXL-family preset (Turbo and Lightning share SDXL base's U-Net).
    var unetConfiguration: UNetConfiguration? {
        switch self {
        case .sdxlBase, .sdxlTurbo, .sdxlLightning: .sdxlBase
        }
    }
}
