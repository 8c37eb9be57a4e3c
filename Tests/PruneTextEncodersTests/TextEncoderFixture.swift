import Foundation
import PruneTensor
import PruneTestSupport

/// One case under `Tests/Fixtures/text-encoders/` (made by `Tests/Fixtures/make_text_encoder_fixtures.py`).
struct TextEncoderFixture: CustomStringConvertible, Sendable {
    let name: String
    var description: String { name }

    var directory: String { Fixtures.path("text-encoders/\(name)") }

    /// A float32 tensor of `inputs.safetensors` as integer rows (`[B, L]` → `[[Int]]`).
    func integerRows(_ key: String) throws -> [[Int]]? {
        let file = try SafetensorsFile.open(directory + "/inputs.safetensors")
        guard file.contains(key) else { return nil }
        let tensor = try file.tensor(key)
        let (rows, columns) = (tensor.shape[0], tensor.shape[1])
        let values = tensor.scalars()
        return (0..<rows).map { row in (0..<columns).map { Int(values[row * columns + $0]) } }
    }

    /// The tensors of `expected.safetensors` by key.
    func expected() throws -> [String: Tensor] {
        let file = try SafetensorsFile.open(directory + "/expected.safetensors")
        var tensors: [String: Tensor] = [:]
        for key in file.keys { tensors[key] = try file.tensor(key) }
        return tensors
    }

    static let clip = ["clip-quick-gelu", "clip-gelu-projection", "clip-fp16"].map(TextEncoderFixture.init)
    static let t5 = ["t5-gated-gelu", "t5-bf16-sharded", "t5-relu"].map(TextEncoderFixture.init)
}

/// The tolerance on every output: relative error `max|a − b| / max|b|` per tensor.
let textEncoderTolerance: Float = 1e-4
