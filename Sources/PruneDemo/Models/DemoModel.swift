import PruneFlux
import PruneKit
import PruneNN
import PruneSDXL
import PruneTensor

/// The denoiser of a demo model: one of the two families, built from PruneSDXL / PruneFlux exactly as a
/// real checkpoint is.
public enum DemoDenoiser {
    case sdxl(UNet2DConditionModel)
    case flux(FluxTransformer2DModel)

    public var architecture: DemoArchitecture {
        switch self {
        case .sdxl: .sdxl
        case .flux: .flux
        }
    }
}

/// A complete demo text-to-image model: tokenizer, text encoder and denoiser, with the stores that own the
/// parameters of the last two.
public struct DemoModel {
    public let tokenizer: PromptTokenizer
    public let textEncoder: DemoTextEncoder
    public let textEncoderParameters: ParameterStore
    public let denoiser: DemoDenoiser
    public let denoiserParameters: ParameterStore

    public init(
        tokenizer: PromptTokenizer, textEncoder: DemoTextEncoder, textEncoderParameters: ParameterStore, denoiser: DemoDenoiser,
        denoiserParameters: ParameterStore
    ) {
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.textEncoderParameters = textEncoderParameters
        self.denoiser = denoiser
        self.denoiserParameters = denoiserParameters
    }

    public var architecture: DemoArchitecture { denoiser.architecture }

    /// A freshly initialised model of `architecture` (PyTorch-style initialisation, per-key streams from
    /// `seed`), with the shapes tokenizer and the given denoiser configuration (the demo's by default).
    /// - Throws: ``DemoModelError/invalidConfiguration(_:)`` for an unusable configuration.
    public static func random(
        _ architecture: DemoArchitecture, seed: UInt64, unet: UNetConfiguration = DemoArchitecture.sdxlUNet,
        flux: FluxConfiguration = DemoArchitecture.fluxTransformer, textEncoder: DemoTextEncoderConfiguration = .shapes
    ) throws -> DemoModel {
        try textEncoder.validate()
        let textStore = ParameterStore(randomSeed: seed ^ 0x7E47_E4C0)
        let encoder = DemoTextEncoder(textEncoder, weights: textStore.root)
        let store = ParameterStore(randomSeed: seed)
        let denoiser: DemoDenoiser
        switch architecture {
        case .sdxl:
            guard unet.crossAttentionDim.values.allSatisfy({ $0 == textEncoder.width }),
                unet.projectionClassEmbeddingsInputDim == textEncoder.width + 6 * (unet.additionTimeEmbedDim ?? 0)
            else {
                throw DemoModelError.invalidConfiguration(
                    "the U-Net's cross_attention_dim and projection_class_embeddings_input_dim must fit the \(textEncoder.width)-wide text encoder")
            }
            do { denoiser = .sdxl(try UNet2DConditionModel(unet, weights: store.root)) } catch {
                throw DemoModelError.invalidConfiguration("\(error)")
            }
        case .flux:
            guard flux.jointAttentionDimension == textEncoder.width, flux.pooledProjectionDimension == textEncoder.width else {
                throw DemoModelError.invalidConfiguration(
                    "the FLUX joint_attention_dim and pooled_projection_dim must equal the text encoder width \(textEncoder.width)")
            }
            do { try flux.validate() } catch { throw DemoModelError.invalidConfiguration("\(error)") }
            denoiser = .flux(FluxTransformer2DModel(configuration: flux, weights: store.root))
        }
        return DemoModel(
            tokenizer: PromptTokenizer(words: ShapePrompt.vocabulary, length: textEncoder.length), textEncoder: encoder,
            textEncoderParameters: textStore, denoiser: denoiser, denoiserParameters: store)
    }

    /// Every trainable parameter, keyed `text_encoder.<key>` and `denoiser.<key>`, in build order.
    public var namedParameters: [(key: String, tensor: Tensor)] {
        textEncoderParameters.orderedKeys.map { ("text_encoder." + $0, textEncoderParameters.parameters[$0]!) }
            + denoiserParameters.orderedKeys.map { ("denoiser." + $0, denoiserParameters.parameters[$0]!) }
    }

    /// Number of parameters of the denoiser and of the text encoder.
    public var parameterCounts: (denoiser: Int, textEncoder: Int) {
        (denoiserParameters.parameterCount, textEncoderParameters.parameterCount)
    }

    /// Text conditioning of `prompts` (`nil` entries are the null prompt): per-token `[B, L, W]` and pooled `[B, W]`.
    /// - Throws: ``PromptTokenizerError`` for a prompt outside the vocabulary.
    public func encode(_ prompts: [String?]) throws -> (tokens: Tensor, pooled: Tensor) {
        let ids = try prompts.map { text throws(PromptTokenizerError) in try text.map(tokenizer.encode) ?? tokenizer.nullIDs }
        return textEncoder(ids)
    }
}

extension IntOrList {
    /// The values as a list (one element for a single value).
    var values: [Int] {
        switch self {
        case .single(let value): [value]
        case .list(let values): values
        }
    }
}
