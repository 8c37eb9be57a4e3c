import Foundation
import PruneTensor

/// Sinusoidal embeddings of (float) timesteps, as diffusers' `get_timestep_embedding`, computed in
/// float32 exactly as diffusers does.
///
/// `freqᵢ = exp(−ln(maxPeriod) · i / (half − shift))`, `aᵢ = scale · t · freqᵢ`, output `[sin a | cos a]`,
/// or `[cos a | sin a]` when `flipSinToCos`; an odd width gets one zero column.
///
/// - Parameter timesteps: `[N]`.
/// - Returns: `[N, dimension]`.
public func sinusoidalTimestepEmbedding(
    _ timesteps: Tensor, dimension: Int, flipSinToCos: Bool, downscaleFrequencyShift: Float, scale: Float = 1,
    maxPeriod: Float = 10_000
) -> Tensor {
    precondition(timesteps.rank == 1, "timesteps must be 1-D, got \(timesteps.shape)")
    let half = dimension / 2
    let logPeriod = Float(-Foundation.log(Double(maxPeriod)))
    let frequencies = (0..<half).map { i in Foundation.exp(logPeriod * Float(i) / (Float(half) - downscaleFrequencyShift)) }
    let values = timesteps.scalars()
    var result = [Float]()
    result.reserveCapacity(values.count * dimension)
    for t in values {
        let angles = frequencies.map { scale * (t * $0) }
        let sines = angles.map { Foundation.sin($0) }
        let cosines = angles.map { Foundation.cos($0) }
        result += flipSinToCos ? cosines + sines : sines + cosines
        if dimension % 2 == 1 { result.append(0) }
    }
    return Tensor(result, shape: [values.count, dimension])
}

/// diffusers' `TimestepEmbedding`: `linear_2(SiLU(linear_1(x [+ cond_proj(condition)])))`.
public struct TimestepEmbedding {
    public let linear1: Linear
    public let linear2: Linear
    public let conditionProjection: Linear?

    public init(_ scope: WeightScope, inChannels: Int, timeEmbeddingDimension: Int, outDimension: Int? = nil, conditionProjectionDimension: Int? = nil) {
        linear1 = Linear(scope.scoped("linear_1"), inFeatures: inChannels, outFeatures: timeEmbeddingDimension)
        linear2 = Linear(scope.scoped("linear_2"), inFeatures: timeEmbeddingDimension, outFeatures: outDimension ?? timeEmbeddingDimension)
        conditionProjection = conditionProjectionDimension.map {
            Linear(scope.scoped("cond_proj"), inFeatures: $0, outFeatures: inChannels, bias: false)
        }
    }

    /// `[N, in]` → `[N, out]`.
    public func callAsFunction(_ x: Tensor, condition: Tensor? = nil) -> Tensor {
        var input = x
        if let conditionProjection, let condition { input = input + conditionProjection(condition) }
        return linear2(linear1(input).silu())
    }
}
