import Foundation
import PruneNN
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// A checkpoint that does not match its configuration is reported in one error naming every key.
@Suite struct CheckpointErrorTests {
    /// Copies the sdxl-tiny fixture into a temporary directory with `edit` applied to its weights.
    static func damagedCopy(_ edit: (inout [String: Tensor]) -> Void) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-damaged-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("sdxl-tiny/config.json"), toPath: directory + "/config.json")
        let file = try SafetensorsFile.open(Fixtures.path("sdxl-tiny/diffusion_pytorch_model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for key in file.keys { tensors[key] = try file.tensor(key) }
        edit(&tensors)
        try SafetensorsWriter.write(tensors, to: directory + "/diffusion_pytorch_model.safetensors")
        return directory
    }

    @Test("Missing, mis-shaped and unexpected keys are all named in one error")
    func everyProblemIsReported() throws {
        let directory = try Self.damagedCopy { tensors in
            tensors["conv_in.bias"] = nil
            tensors["mid_block.attentions.0.transformer_blocks.0.attn1.to_q.weight"] = Tensor.zeros([4, 3])
            tensors["extra.weight"] = Tensor.zeros([2])
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            _ = try UNet2DConditionModel.load(directory: directory)
            Issue.record("loading a damaged checkpoint succeeded")
        } catch let error as CheckpointError {
            guard case .mismatched(let source, let problems) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(source.hasSuffix("diffusion_pytorch_model.safetensors"))
            #expect(problems.contains(.missing(key: "conv_in.bias", expected: [2])))
            #expect(problems.contains(.shapeMismatch(
                key: "mid_block.attentions.0.transformer_blocks.0.attn1.to_q.weight", expected: [4, 4], actual: [4, 3])))
            #expect(problems.contains(.unexpected(key: "extra.weight", shape: [2])))
            #expect(problems.count == 3)
            #expect("\(error)".contains("1 missing, 1 mis-shaped, 1 unexpected"))
        }
    }

    @Test("An int64 key in a U-Net checkpoint opens the file and is reported as unexpected, not hidden")
    func unexpectedIntegerKeyIsReported() throws {
        let directory = try Self.damagedCopy { _ in }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/diffusion_pytorch_model.safetensors"
        let file = try SafetensorsFile.open(path)
        var entries = try file.keys.map { key in RawSafetensors.Entry.float32(key, try file.tensor(key)) }
        entries.append(.int64("text_model.embeddings.position_ids", [1, 77], (0..<77).map(Int64.init)))
        try RawSafetensors.write(entries, to: path)
        #expect {
            _ = try UNet2DConditionModel.load(directory: directory)
        } throws: { error in
            guard case .mismatched(_, let problems) = error as? CheckpointError else { return false }
            return problems == [.unexpected(key: "text_model.embeddings.position_ids", shape: [1, 77])]
        }
    }

    @Test("A config that does not match the weights is caught as mis-shaped keys")
    func configMismatchIsReported() throws {
        let directory = try Self.damagedCopy { _ in }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configPath = directory + "/config.json"
        var config = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any])
        config["cross_attention_dim"] = 32
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        #expect {
            _ = try UNet2DConditionModel.load(directory: directory)
        } throws: { error in
            guard case .mismatched(_, let problems) = error as? CheckpointError else { return false }
            return problems.contains { $0.description.contains("attn2.to_k.weight: expected shape [4, 32], found [4, 64]") }
        }
    }

    @Test("A directory without weights names what it looked for")
    func missingWeightsAreNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-empty-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Fixtures.path("sdxl-tiny/config.json"), toPath: directory + "/config.json")
        #expect(throws: CheckpointFileError.noWeights(directory: directory)) {
            _ = try UNet2DConditionModel.load(directory: directory)
        }
    }
}
