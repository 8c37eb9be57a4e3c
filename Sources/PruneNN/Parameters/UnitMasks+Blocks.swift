import PruneTensor

extension UnitMasks {
    /// Applies the mask of block `index` of the block list `listKey` to one block call: with `m` the block's value
    /// in `mask.<listKey>` (`[blocks]`), returns `m·output + (1 − m)·input` — the block's residual contribution
    /// `output − input` scaled by `m` — written so that at `m = 0` the result is exactly `input` (the block is the
    /// identity) and at `m = 1` exactly `output` (bit for bit the unmasked block); ∂/∂m = `output − input`. Without a mask for the list, returns `output` untouched.
    ///
    /// - Parameters:
    ///   - listKey: the list's module key, e.g. `transformer_blocks` or
    ///     `down_blocks.1.attentions.0.transformer_blocks`.
    ///   - index: the block's position in the list.
    ///   - input: the block's input (any shape).
    ///   - output: the block's output, the same shape as `input`.
    public func block(_ listKey: String, index: Int, input: Tensor, output: Tensor) -> Tensor {
        guard let mask = byModule[listKey] else { return output }
        precondition(mask.rank == 1 && index < mask.shape[0], "block mask \(listKey) must be [blocks > \(index)], got \(mask.shape)")
        let value = mask.sliced(axis: 0, index..<(index + 1))
        return output * value + input * (1 - value)
    }
}
