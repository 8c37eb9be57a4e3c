// text-encoder-memory: writes a real-size text encoder with seeded random weights and runs one forward, so the
// resident memory of 16-bit weights widened per operation can be measured from outside:
//
//   swift build -c release --product text-encoder-memory
//   .build/release/text-encoder-memory write /tmp/clip-l-fp16 --dtype float16     # 246 MB model.fp16.safetensors
//   /usr/bin/time -v .build/release/text-encoder-memory run /tmp/clip-l-fp16        # "Maximum resident set size"
//
// Models: clip-l (CLIPTextModel, SDXL/FLUX text_encoder), bigg (CLIPTextModelWithProjection, SDXL text_encoder_2).
import Foundation
import PruneTensor
import PruneTextEncoders

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

func configuration(_ name: String) -> CLIPTextConfiguration {
    switch name {
    case "clip-l": return .clipL
    case "bigg": return .openCLIPBigG
    default: fail("unknown model \(name) (clip-l, bigg)")
    }
}

func configJSON(_ c: CLIPTextConfiguration, projection: Bool) -> String {
    """
    {"architectures": ["\(projection ? "CLIPTextModelWithProjection" : "CLIPTextModel")"], "model_type": "clip_text_model",
     "vocab_size": \(c.vocabularySize), "hidden_size": \(c.hiddenSize), "intermediate_size": \(c.intermediateSize),
     "num_hidden_layers": \(c.layerCount), "num_attention_heads": \(c.headCount),
     "max_position_embeddings": \(c.maximumPositions), "hidden_act": "\(c.activation.rawValue)",
     "layer_norm_eps": \(c.layerNormEpsilon), "projection_dim": \(c.projectionDimension), "eos_token_id": \(c.eosTokenID)}
    """
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else { fail("usage: text-encoder-memory write DIR [--model clip-l|bigg] [--dtype float16|float32] | run DIR") }
let directory = arguments[1]
func option(_ name: String, _ fallback: String) -> String {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

switch arguments[0] {
case "write":
    let model = option("--model", "clip-l")
    let c = configuration(model)
    let dtype: DType = option("--dtype", "float16") == "float32" ? .float32 : .float16
    let projection = model == "bigg"
    let shapes = projection ? CLIPTextModelWithProjection.parameterShapes(c) : CLIPTextModel.parameterShapes(c)
    var tensors: [String: Tensor] = [:]
    for (index, (key, shape)) in shapes.sorted(by: { $0.key < $1.key }).enumerated() {
        let scale: Float = shape.count == 2 ? 1 / Float(shape[1]).squareRoot() : 0.05
        var tensor = Tensor.randomNormal(shape, standardDeviation: scale, seed: UInt64(index))
        if shape.count == 1 && key.hasSuffix("weight") { tensor = tensor + 1 }  // layer-norm gains near 1
        tensors[key] = tensor
    }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let file = dtype == .float16 ? "model.fp16.safetensors" : "model.safetensors"
    try SafetensorsWriter.write(tensors, to: directory + "/" + file, dtype: dtype)
    try configJSON(c, projection: projection).write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
    print("wrote \(directory)/\(file): \(shapes.values.reduce(0) { $0 + $1.reduce(1, *) }) parameters as \(dtype)")
case "run":
    let start = Date()
    let configText = (try? String(contentsOfFile: directory + "/config.json", encoding: .utf8)) ?? ""
    let ids = [[49406] + Array(320..<330) + [49407] + Array(repeating: 49407, count: 65)]
    let output: CLIPTextOutput
    let stored: Int
    if configText.contains("CLIPTextModelWithProjection") {
        let model = try CLIPTextModelWithProjection(directory: directory)
        stored = model.parameters.storedByteCount
        output = try model(ids)
    } else {
        let model = try CLIPTextModel(directory: directory)
        stored = model.parameters.storedByteCount
        output = try model(ids)
    }
    let pooled = output.poolerOutput.scalars()
    print("resident weights \(stored) bytes; \(output.hiddenStates.count) hidden states; pooled[0..<3] \(Array(pooled.prefix(3)))")
    print(String(format: "forward + load: %.2f s", Date().timeIntervalSince(start)))
default:
    fail("unknown command \(arguments[0]) (write, run)")
}
