// denoiser-memory: writes a real-size denoiser (SDXL base U-Net or a FLUX transformer) with seeded random weights,
// one tensor at a time, and runs one forward on it, so the resident memory of 16-bit weights kept in their type
// (widened per GEMM panel) can be measured from outside against the float32 widening they replaced:
//
//   swift build -c release --product denoiser-memory
//   .build/release/denoiser-memory write /work/halfweights-data/sdxl.fp16.safetensors --model sdxl-base --dtype float16
//   /usr/bin/time -v .build/release/denoiser-memory run /work/halfweights-data/sdxl.fp16.safetensors --model sdxl-base
//   /usr/bin/time -v .build/release/denoiser-memory run … --float32-weights   # before: every tensor widened on load
//
// Models: sdxl-base (1024² preset, run at --size 512), flux-dev (19 + 38 blocks; --double/--single scale it down).
import Foundation
import PruneFlux
import PruneNN
import PruneSDXL
import PruneTensor

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2, ["write", "run"].contains(arguments[0]) else {
    fail("usage: denoiser-memory write|run FILE --model sdxl-base|flux-dev [--double N --single M] [--dtype float16|bfloat16|float32] [--size 512] [--text-tokens T] [--float32-weights]")
}
let path = arguments[1]
func option(_ name: String, _ fallback: String) -> String {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}
let modelName = option("--model", "sdxl-base")
let size = Int(option("--size", "512"))!

/// The FLUX configuration, FLUX.1-dev's widths with `--double`/`--single` blocks.
func fluxConfiguration() -> FluxConfiguration {
    var configuration = FluxConfiguration.fluxDev
    configuration.doubleBlockCount = Int(option("--double", "19"))!
    configuration.singleBlockCount = Int(option("--single", "38"))!
    return configuration
}

/// Every parameter key and shape of the model, from a shapes-only build (no memory).
func parameterShapes() -> [(key: String, shape: [Int])] {
    let store = ParameterStore(shapesOnly: ())
    switch modelName {
    case "sdxl-base": _ = try! UNet2DConditionModel(.sdxlBase, weights: store.root)
    case "flux-dev": _ = FluxTransformer2DModel(configuration: fluxConfiguration(), weights: store.root)
    default: fail("unknown model \(modelName) (sdxl-base, flux-dev)")
    }
    return store.orderedKeys.map { ($0, store.parameters[$0]!.shape) }
}

/// Streams seeded tensors into a safetensors file: `N(0, 1/fanIn)` matrices and kernels, norm gains near 1, small biases.
func write(dtype: DType) throws {
    let shapes = parameterShapes().sorted { $0.key < $1.key }
    var header: [String] = []
    var offset = 0
    for (key, shape) in shapes {
        let end = offset + shape.reduce(1, *) * dtype.byteSize
        let name = dtype == .float16 ? "F16" : dtype == .bfloat16 ? "BF16" : "F32"
        header.append("\"\(key)\":{\"dtype\":\"\(name)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
        offset = end
    }
    var json = Array(("{" + header.joined(separator: ",") + "}").utf8)
    while json.count % 8 != 0 { json.append(0x20) }
    FileManager.default.createFile(atPath: path, contents: nil)
    guard let handle = FileHandle(forWritingAtPath: path) else { fail("cannot write \(path)") }
    var length = UInt64(json.count).littleEndian
    handle.write(Data(bytes: &length, count: 8))
    handle.write(Data(json))
    for (index, (key, shape)) in shapes.enumerated() {
        let fanIn = shape.dropFirst().reduce(1, *)
        var tensor = Tensor.randomNormal(shape, standardDeviation: shape.count >= 2 ? 1 / Float(fanIn).squareRoot() : 0.02, seed: UInt64(index))
        if shape.count == 1 && key.hasSuffix("weight") { tensor = tensor + 1 }
        let stored = tensor.converted(to: dtype)
        handle.write(Data(bytes: stored.storage.bytes, count: stored.count * dtype.byteSize))
    }
    try handle.close()
    print("wrote \(shapes.count) tensors, \(shapes.reduce(0) { $0 + $1.shape.reduce(1, *) }) parameters, \(offset) bytes of \(dtype) to \(path)")
}

/// A source that hides `storedTensor`, so every tensor is widened to float32 on load: the behaviour before 16-bit
/// weights stayed resident.
struct WidenedOnLoad: TensorSource {
    let base: SafetensorsTensorSource
    var keys: [String] { base.keys }
    func shape(of key: String) -> [Int]? { base.shape(of: key) }
    func tensor(_ key: String) throws -> Tensor { try base.tensor(key) }
}

func peakResidentMegabytes() -> String {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    return status.split(separator: "\n").first { $0.hasPrefix("VmHWM") }.map(String.init) ?? "VmHWM unknown"
}

func run() throws {
    let file = try SafetensorsTensorSource(file: path)
    let source: any TensorSource = arguments.contains("--float32-weights") ? WidenedOnLoad(base: file) : file
    let start = Date()
    var loadSeconds = 0.0
    let output: Tensor
    let store: ParameterStore
    switch modelName {
    case "sdxl-base":
        let (model, parameters) = try UNet2DConditionModel.load(
            configuration: .sdxlBase, source: source, sourceName: path, widths: .configuration)
        store = parameters
        loadSeconds = Date().timeIntervalSince(start)
        let latent = size / 8
        let inputs = UNetInputs(
            sample: Tensor.randomNormal([1, 4, latent, latent], seed: 1), timestep: Tensor([999], shape: [1]),
            encoderHiddenStates: Tensor.randomNormal([1, 77, 2048], seed: 2), textEmbeds: Tensor.randomNormal([1, 1280], seed: 3),
            timeIDs: Tensor([Float(size), Float(size), 0, 0, Float(size), Float(size)], shape: [1, 6]))
        output = try withoutGradients { try model(inputs) }
    case "flux-dev":
        let loaded = try FluxModelLoader.load(configuration: fluxConfiguration(), source: source, sourceName: path)
        store = loaded.parameters
        loadSeconds = Date().timeIntervalSince(start)
        let grid = size / 16
        let textTokens = Int(option("--text-tokens", "512"))!
        var ids: [Float] = []
        for row in 0..<grid { for column in 0..<grid { ids += [0, Float(row), Float(column)] } }
        let inputs = FluxInputs(
            hiddenStates: Tensor.randomNormal([1, grid * grid, 64], seed: 1),
            encoderHiddenStates: Tensor.randomNormal([1, textTokens, 4096], seed: 2),
            pooledProjections: Tensor.randomNormal([1, 768], seed: 3), timestep: Tensor([1], shape: [1]),
            imageIDs: Tensor(ids, shape: [grid * grid, 3]), textIDs: Tensor.zeros([textTokens, 3]), guidance: Tensor([3.5], shape: [1]))
        output = try withoutGradients { try loaded.model(inputs) }
    default: fail("unknown model \(modelName) (sdxl-base, flux-dev)")
    }
    let values = output.scalars()
    let mean = values.reduce(0, +) / Float(max(values.count, 1))
    print("""
        \(modelName) \(arguments.contains("--float32-weights") ? "float32 (widened on load)" : "stored types (widened per GEMM panel)"): \
        \(store.parameterCount) parameters, \(store.storedByteCount) resident parameter bytes; load \(String(format: "%.1f", loadSeconds)) s, \
        forward \(String(format: "%.1f", Date().timeIntervalSince(start) - loadSeconds)) s; output \(output.shape) mean \(mean); \(peakResidentMegabytes())
        """)
}

do {
    if arguments[0] == "write" {
        let dtypeName = option("--dtype", "float16")
        guard let dtype = DType(rawValue: dtypeName) else { fail("unknown dtype \(dtypeName)") }
        try write(dtype: dtype)
    } else {
        try run()
    }
} catch {
    fail("\(error)")
}
