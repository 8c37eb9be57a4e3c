import PruneKit

/// Pipeline defaults of each preset, with their provenance.
extension SchedulerPreset {
    /// Default classifier-free (SDXL) or embedded (FLUX-dev) guidance scale.
    var defaultGuidance: Float {
        switch self {
        case .sdxlBase: 5.0  // StableDiffusionXLPipeline.__call__ default guidance_scale
        case .sdxlTurbo, .sdxlLightning, .sdxlLightning1Step: 0.0  // model cards: guidance_scale=0
        case .fluxDev: 3.5  // FluxPipeline default guidance_scale
        case .fluxSchnell: 0.0  // schnell has no guidance embedding
        }
    }
}
