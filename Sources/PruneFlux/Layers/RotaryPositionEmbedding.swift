import Foundation
import PruneNN
import PruneTensor

/// FLUX's rotary position embedding tables (diffusers `FluxPosEmbed`): a 1-D RoPE per position axis,
/// concatenated along the head dimension.
///
/// For axis `a` of width `dₐ` (even) and position `p = ids[s, a]`, the frequencies are
/// `ωⱼ = 1 / θ^(2j/dₐ)`, `j = 0..<dₐ/2`, the angle `p·ωⱼ`, and each cos/sin value is repeated twice
/// (`repeat_interleave_real`) so it covers both members of its rotation pair. As in diffusers, the ids are
/// first rounded to float32 (`ids.float()`), frequencies, angles, cos and sin are computed in float64, and
/// the tables are returned as float32. Feed them to `applyRotaryEmbedding(_:cos:sin:)`.
///
/// This implementation matches: diffusers `embeddings.py` `FluxPosEmbed.forward` and
/// `get_1d_rotary_pos_embed(..., use_real=True, repeat_interleave_real=True, freqs_dtype=torch.float64)`.
public struct FluxPositionEmbedding: Sendable, Equatable {
    /// The RoPE base θ (10000 for FLUX.1, hard-coded in diffusers).
    public let theta: Double
    /// Width of each axis' slice of the head dimension, e.g. `[16, 56, 56]`; they sum to the head dimension.
    public let axesDimensions: [Int]

    public init(theta: Double = 10_000, axesDimensions: [Int]) {
        precondition(axesDimensions.allSatisfy { $0 > 0 && $0 % 2 == 0 }, "RoPE axis widths must be positive and even, got \(axesDimensions)")
        self.theta = theta
        self.axesDimensions = axesDimensions
    }

    /// The head dimension the tables cover (the sum of the axis widths).
    public var dimension: Int { axesDimensions.reduce(0, +) }

    /// cos/sin tables for positions `ids`.
    ///
    /// - Parameter ids: `[S, axes]` positions (text ids then image ids in FLUX).
    /// - Returns: `cos`, `sin`, each `[S, dimension]`.
    public func callAsFunction(_ ids: Tensor) -> (cos: Tensor, sin: Tensor) {
        precondition(ids.rank == 2 && ids.shape[1] == axesDimensions.count, "RoPE ids must be [S, \(axesDimensions.count)], got \(ids.shape)")
        let positions = ids.scalars()
        let length = ids.shape[0]
        let width = dimension
        let frequencies = axesDimensions.map { d in
            (0..<(d / 2)).map { j in 1.0 / Foundation.pow(theta, Double(2 * j) / Double(d)) }
        }
        var cosines = [Float](repeating: 0, count: length * width)
        var sines = [Float](repeating: 0, count: length * width)
        for s in 0..<length {
            var column = s * width
            for (axis, axisFrequencies) in frequencies.enumerated() {
                let position = Double(positions[s * axesDimensions.count + axis])
                for frequency in axisFrequencies {
                    let angle = position * frequency
                    let (c, sn) = (Float(Foundation.cos(angle)), Float(Foundation.sin(angle)))
                    cosines[column] = c
                    cosines[column + 1] = c
                    sines[column] = sn
                    sines[column + 1] = sn
                    column += 2
                }
            }
        }
        return (Tensor(cosines, shape: [length, width]), Tensor(sines, shape: [length, width]))
    }
}
