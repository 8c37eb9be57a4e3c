import PruneNN
import PruneTensor

/// FLUX's conditioning vector `temb`: diffusers' `CombinedTimestepTextProjEmbeddings` (schnell) or
/// `CombinedTimestepGuidanceTextProjEmbeddings` (dev).
///
/// `temb = timestep_embedder(sinus(t)) [+ guidance_embedder(sinus(g))] + text_embedder(pooled)`, where
/// `sinus` is `Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0)` in float32 and every embedder
/// is `linear_2(SiLU(linear_1(·)))` (the text one is `PixArtAlphaTextProjection` with SiLU, which has the
/// same form). Keys: `timestep_embedder.linear_{1,2}`, `guidance_embedder.linear_{1,2}` (when guided),
/// `text_embedder.linear_{1,2}`.
///
/// This implementation matches: diffusers `embeddings.py` `CombinedTimestepGuidanceTextProjEmbeddings.forward`.
public struct FluxTimeTextEmbedding {
    /// Width of the sinusoidal projection of timestep and guidance.
    public static let sinusoidDimension = 256

    /// The Linears of the three embedders.
    public struct Shapes: Sendable, Equatable {
        public var dimension: Int
        public var pooledProjectionDimension: Int
        public var hasGuidance: Bool

        public init(dimension: Int, pooledProjectionDimension: Int, hasGuidance: Bool) {
            self.dimension = dimension
            self.pooledProjectionDimension = pooledProjectionDimension
            self.hasGuidance = hasGuidance
        }

        /// `linear_1`, `linear_2` of an embedder taking `input` features.
        public func embedder(input: Int) -> (LinearShape, LinearShape) {
            (LinearShape("linear_1", inFeatures: input, outFeatures: dimension),
             LinearShape("linear_2", inFeatures: dimension, outFeatures: dimension))
        }
    }

    public let shapes: Shapes
    public let timestepEmbedder: TimestepEmbedding
    public let guidanceEmbedder: TimestepEmbedding?
    public let textEmbedder: TimestepEmbedding

    public init(_ scope: WeightScope, _ shapes: Shapes) {
        self.shapes = shapes
        func embedder(_ name: String, input: Int) -> TimestepEmbedding {
            let (first, second) = shapes.embedder(input: input)
            return TimestepEmbedding(
                scope.scoped(name), inChannels: first.inFeatures, timeEmbeddingDimension: first.outFeatures,
                outDimension: second.outFeatures)
        }
        timestepEmbedder = embedder("timestep_embedder", input: Self.sinusoidDimension)
        guidanceEmbedder = shapes.hasGuidance ? embedder("guidance_embedder", input: Self.sinusoidDimension) : nil
        textEmbedder = embedder("text_embedder", input: shapes.pooledProjectionDimension)
    }

    /// - Parameters:
    ///   - timestep: `[B]`, already scaled (FLUX passes σ·1000).
    ///   - guidance: `[B]`, already scaled (g·1000); required exactly when the model is guidance-distilled.
    ///   - pooledProjection: `[B, pooled]`.
    /// - Returns: `temb` `[B, C]`.
    public func callAsFunction(timestep: Tensor, guidance: Tensor?, pooledProjection: Tensor) -> Tensor {
        var embedding = timestepEmbedder(Self.sinusoid(timestep))
        if let guidanceEmbedder {
            guard let guidance else { preconditionFailure("this FLUX model embeds guidance: pass a guidance value") }
            embedding = embedding + guidanceEmbedder(Self.sinusoid(guidance))
        } else {
            precondition(guidance == nil, "this FLUX model has no guidance embedder: pass no guidance")
        }
        return embedding + textEmbedder(pooledProjection)
    }

    /// `Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0)`: `[B]` → `[B, 256]` `[cos | sin]`.
    public static func sinusoid(_ values: Tensor) -> Tensor {
        sinusoidalTimestepEmbedding(values, dimension: sinusoidDimension, flipSinToCos: true, downscaleFrequencyShift: 0)
    }
}
