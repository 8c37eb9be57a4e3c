extension FluxConfiguration {
    /// The bench-size FLUX-like model used by PruneKit's benchmarks: FLUX.1-dev's structure (double and single
    /// blocks, joint attention with QK RMS norm, RoPE over three axes, guidance embedding) at small widths —
    /// 4 double + 8 single blocks, 8 heads × 64 (inner 512, FFN 2048), 1024-wide text tokens, 256-wide pooled
    /// vector: 71,613,504 parameters, 96 heads, 32,768 FFN neurons. Benchmarks run it on a 32×32 latent grid (256 image tokens) with
    /// 128 text tokens.
    public static let fluxBench = FluxConfiguration(
        inChannels: 64, doubleBlockCount: 4, singleBlockCount: 8, headDimension: 64, headCount: 8,
        jointAttentionDimension: 1024, pooledProjectionDimension: 256, guidanceEmbeds: true, ropeAxesDimensions: [8, 28, 28])
}
