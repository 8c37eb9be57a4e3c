import Foundation
import PruneFlux
import PruneNN
import PruneSDXL
import PruneTensor

/// One model forward measurement.
struct ModelResult: Encodable, Sendable {
    /// The configuration (`sdxl-bench`, `flux-bench`, or the tiny ones in quick runs).
    let model: String
    let batch: Int
    /// Median wall time of one forward, in seconds.
    let seconds: Double
    /// GEMM floating-point operations of one forward (`OperationCounter`).
    let flops: Double
    /// Parameters of the model.
    let parameters: Int

    var gflops: Double { flops / seconds / 1e9 }
}

/// Forward passes of the bench-size SDXL-like and FLUX-like models (random weights, fixed seeds) at
/// batch 1 and 2: time and GEMM GFLOP/s. Configurations: ``UNetConfiguration/sdxlBench`` on a 32×32
/// latent with 77 text tokens, ``FluxConfiguration/fluxBench`` on 256 image and 128 text tokens; quick
/// runs use diffusers' tiny test configurations instead.
enum ModelBenchmarks {
    static func run(_ policy: TimingPolicy, quick: Bool) -> [ModelResult] {
        var results: [ModelResult] = []
        Report.printModelHeader()
        for batch in [1, 2] {
            results.append(sdxl(policy, quick: quick, batch: batch))
            Report.printModelRow(results.last!)
        }
        for batch in [1, 2] {
            results.append(flux(policy, quick: quick, batch: batch))
            Report.printModelRow(results.last!)
        }
        return results
    }

    private static func sdxl(_ policy: TimingPolicy, quick: Bool, batch: Int) -> ModelResult {
        let configuration: UNetConfiguration = quick ? .sdxlTinyTest : .sdxlBench
        let store = ParameterStore(randomSeed: 1)
        let unet = try! UNet2DConditionModel(configuration, weights: store.root)
        let side = configuration.sampleSize ?? 32
        let textWidth = quick ? 64 : 768
        let pooledWidth = (configuration.projectionClassEmbeddingsInputDim ?? 0) - 6 * (configuration.additionTimeEmbedDim ?? 0)
        let inputs = UNetInputs(
            sample: Tensor.randomNormal([batch, 4, side, side], seed: 2), timestep: Tensor(scalar: 500),
            encoderHiddenStates: Tensor.randomNormal([batch, 77, textWidth], seed: 3),
            textEmbeds: Tensor.randomNormal([batch, pooledWidth], seed: 4),
            timeIDs: Tensor(Array(repeating: [Float(side * 8), Float(side * 8), 0, 0, Float(side * 8), Float(side * 8)], count: batch).flatMap { $0 }, shape: [batch, 6]))
        let forward = { withoutGradients { try! unet(inputs) } }
        let flops = Double(OperationCounter.counting { keepAlive(forward()) }.operations)
        let seconds = measure(policy) { keepAlive(forward()) }
        return ModelResult(model: quick ? "sdxl-tiny-test" : "sdxl-bench", batch: batch, seconds: seconds, flops: flops, parameters: store.parameterCount)
    }

    private static func flux(_ policy: TimingPolicy, quick: Bool, batch: Int) -> ModelResult {
        let configuration: FluxConfiguration = quick
            ? FluxConfiguration(inChannels: 4, doubleBlockCount: 1, singleBlockCount: 1, headDimension: 16, headCount: 2,
                                jointAttentionDimension: 32, pooledProjectionDimension: 32, ropeAxesDimensions: [4, 4, 8])
            : .fluxBench
        let loaded = FluxModelLoader.random(configuration: configuration, seed: 1)
        let (rows, columns, textLength) = quick ? (4, 4, 8) : (16, 16, 128)
        let inputs = FluxInputs(
            hiddenStates: Tensor.randomNormal([batch, rows * columns, configuration.inChannels], seed: 2),
            encoderHiddenStates: Tensor.randomNormal([batch, textLength, configuration.jointAttentionDimension], seed: 3),
            pooledProjections: Tensor.randomNormal([batch, configuration.pooledProjectionDimension], seed: 4),
            timestep: Tensor(scalar: 0.5), imageIDs: FluxLatentPacking.imageIDs(rows: rows, columns: columns),
            textIDs: FluxLatentPacking.textIDs(count: textLength),
            guidance: configuration.guidanceEmbeds ? Tensor(scalar: 3.5) : nil)
        let forward = { withoutGradients { try! loaded.model(inputs) } }
        let flops = Double(OperationCounter.counting { keepAlive(forward()) }.operations)
        let seconds = measure(policy) { keepAlive(forward()) }
        return ModelResult(model: quick ? "flux-tiny-test" : "flux-bench", batch: batch, seconds: seconds, flops: flops, parameters: loaded.parameters.parameterCount)
    }
}

extension Report {
    static func printModelHeader() {
        print("\n## Model forward (random weights)")
        print("model".padding(toLength: 22, withPad: " ", startingAt: 0) + "batch".leftPadded(6) + "params".leftPadded(13)
            + "GFLOP".leftPadded(10) + "time ms".leftPadded(10) + "GFLOP/s".leftPadded(10))
    }

    static func printModelRow(_ result: ModelResult) {
        print(result.model.padding(toLength: 22, withPad: " ", startingAt: 0) + String(result.batch).leftPadded(6)
            + String(result.parameters).leftPadded(13) + String(format: "%.2f", result.flops / 1e9).leftPadded(10)
            + String(format: "%.1f", result.seconds * 1e3).leftPadded(10) + String(format: "%.1f", result.gflops).leftPadded(10))
    }
}

extension String {
    /// Right-aligned in `width` columns.
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
