import Foundation
import PruneNN
import PruneSDXL
import PruneTensor

/// Memory of loading a float16 checkpoint: the bench-size SDXL-like U-Net (tiny test U-Net in quick runs)
/// is written as float16 safetensors, then loaded through `UNet2DConditionModel.load(directory:)`, and the
/// growth of the process's resident memory is compared with the float32 and float16 sizes. Loading
/// widens each tensor from a `pread` of its bytes, so the growth should be one float32 copy, not a float32
/// copy plus the half-precision file.
struct LoadingResult: Encodable, Sendable {
    let model: String
    let parameters: Int
    /// Bytes of the float16 weights file.
    let float16Bytes: Int
    /// Bytes of the weights as float32.
    let float32Bytes: Int
    /// Growth of VmRSS across the load.
    let residentGrowthBytes: Int
    /// Seconds the load took.
    let seconds: Double
}

enum LoadingBenchmark {
    /// Argument that makes the benchmark load a checkpoint and report its memory, in a fresh process.
    static let childFlag = "--measure-load"

    static func run(quick: Bool) -> LoadingResult {
        let configuration: UNetConfiguration = quick ? .sdxlTinyTest : .sdxlBench
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-bench-load-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let parameters = writeCheckpoint(configuration, to: directory)
        let weightsPath = directory + "/diffusion_pytorch_model.safetensors"
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: weightsPath)[.size] as? Int) ?? 0
        // Load in a fresh process, so memory the writer freed cannot be reused and hide the growth.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = [childFlag, directory]
        let pipe = Pipe()
        child.standardOutput = pipe
        try! child.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        let figures = output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        precondition(child.terminationStatus == 0 && figures.count == 2, "the loading child failed: \(output)")
        let result = LoadingResult(
            model: quick ? "sdxl-tiny-test" : "sdxl-bench", parameters: parameters, float16Bytes: fileBytes,
            float32Bytes: parameters * 4, residentGrowthBytes: Int(figures[0]), seconds: figures[1])
        print("\n## Loading a float16 checkpoint (fresh process)")
        print("model \(result.model): \(parameters) parameters, float16 file \(mib(fileBytes)), float32 \(mib(parameters * 4))")
        print("resident growth while loading \(mib(result.residentGrowthBytes)) (\(String(format: "%.2f", Double(result.residentGrowthBytes) / Double(max(parameters * 4, 1))))× the float32 size) in \(String(format: "%.2f", result.seconds)) s")
        return result
    }

    /// The child side: loads `directory` and prints the growth of resident memory (bytes) and the seconds taken.
    static func measureLoad(directory: String) -> Never {
        let before = residentBytes()
        let start = Date()
        let loaded = try! UNet2DConditionModel.load(directory: directory)
        let seconds = Date().timeIntervalSince(start)
        print("\(residentBytes() - before) \(seconds)")
        keepAlive(loaded)
        exit(0)
    }

    /// Writes `config.json` and float16 weights of a randomly initialised model; returns its parameter count.
    private static func writeCheckpoint(_ configuration: UNetConfiguration, to directory: String) -> Int {
        let store = ParameterStore(randomSeed: 5)
        _ = try! UNet2DConditionModel(configuration, weights: store.root)
        try! SafetensorsWriter.write(store.parameters, to: directory + "/diffusion_pytorch_model.safetensors", dtype: .float16)
        let encoder = JSONEncoder()
        try! encoder.encode(configuration).write(to: URL(fileURLWithPath: directory + "/config.json"))
        return store.parameterCount
    }

    /// The process's resident set size (VmRSS of /proc/self/status).
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let digits = line.split(separator: " ").compactMap { Int($0) }
            return (digits.first ?? 0) * 1024
        }
        return 0
    }

    private static func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
}
