import Foundation
import PruneKit
import PruneNN
import PrunePipelines
import PruneSDXL
import PruneTensor
import PruneTestSupport
import Testing

/// Bad LoRA files and bad pruned exports: one error naming the key (or file) and what was expected.
@Suite struct LoRABadInputTests {
    /// The message `PrunedLoRA.adapt` fails with for `lora`, or `nil` when it succeeds.
    static func failure(_ fixture: PrunedFixture, _ lora: TestLoRA, dtype: DType = .float32) throws -> String? {
        let path = fixture.temporaryPath("bad") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try lora.write(path, dtype: dtype)
        do {
            _ = try PrunedLoRA.adapt(lora: path, to: fixture.layout)
            return nil
        } catch {
            return error.description
        }
    }

    @Test("Unknown modules, wrong shapes, unknown suffixes, lone factors, duplicate roles and DoRA over removed inputs are refused naming the key")
    func badLoRAFiles() throws {
        let fixture = try PrunedFixture("sdxl-small", architecture: SDXLArchitecture(), target: 0.5)
        // An attention that loses some heads (not all): q/k/v lose rows, to_out.0 loses columns.
        let attention = try #require(fixture.layout.groups.first { group in
            let kept = fixture.selection.keptUnits(of: group).count
            return group.kind == .attentionHead && kept > 0 && kept < group.unitCount
        }).moduleKey
        let query = fixture.weightShape(attention + ".to_q")
        let unet = "unet.\(attention)"

        var lora = TestLoRA(seed: 1)
        lora.factors(down: "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn3.to_q.lora_A.weight", up: "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn3.to_q.lora_B.weight", out: 4, inShape: [4], rank: 2)
        var message = try #require(try Self.failure(fixture, lora))
        #expect(message.contains("unet.down_blocks.1.attentions.0.transformer_blocks.0.attn3.to_q.lora_A.weight") && message.contains("does not have"))
        #expect(message.contains("closest: down_blocks.1.attentions.0.transformer_blocks.0.attn"))

        lora = TestLoRA(seed: 2)
        lora.factors(down: "\(unet).to_q.lora_A.weight", up: "\(unet).to_q.lora_B.weight", out: query[0], inShape: [query[1] + 1], rank: 4)
        message = try #require(try Self.failure(fixture, lora))
        #expect(message.contains("\(unet).to_q.lora_A.weight has shape [4, \(query[1] + 1)]") && message.contains("expects [4, \(query[1])]"))

        lora = TestLoRA(seed: 3)
        lora.factors(down: "\(unet).to_q.lora_A.weight", up: "\(unet).to_q.lora_B.weight", out: query[0] + 2, inShape: [query[1]], rank: 4)
        message = try #require(try Self.failure(fixture, lora))
        #expect(message.contains("\(unet).to_q.lora_B.weight has shape [\(query[0] + 2), 4]") && message.contains("expects [\(query[0]), 4]"))

        lora = TestLoRA(seed: 4)
        lora.random("\(unet).to_q.lora_A.weight", [4, query[1]])
        lora.random("\(unet).to_q.lora_B.weight", [query[0], 3])
        message = try #require(try Self.failure(fixture, lora))
        #expect(message.contains("\(unet).to_q.lora_B.weight has shape [\(query[0]), 3]"))

        lora = TestLoRA(seed: 5)
        lora.random("\(unet).to_q.weight", query)
        message = try #require(try Self.failure(fixture, lora))
        #expect(message.contains("\(unet).to_q.weight is not a LoRA tensor name"))

        lora = TestLoRA(seed: 6)
        lora.random("\(unet).to_q.lora_A.weight", [4, query[1]])
        message = try #require(try Self.failure(fixture, lora))
        #expect(message.contains("\(unet).to_q.lora_A.weight has no matching up (B) tensor"))

        lora = TestLoRA(seed: 7)
        lora.factors(down: "\(unet).to_q.lora_A.weight", up: "\(unet).to_q.lora_B.weight", out: query[0], inShape: [query[1]], rank: 4)
        lora.random("\(unet).to_q.lora_down.weight", [4, query[1]])
        message = try #require(try Self.failure(fixture, lora))
        #expect(message.contains("\(unet).to_q.lora_down.weight and \(unet).to_q.lora_A.weight are the same tensor"))

        let output = fixture.weightShape(attention + ".to_out.0")
        lora = TestLoRA(seed: 8)
        lora.factors(down: "\(unet).to_out.0.lora_A.weight", up: "\(unet).to_out.0.lora_B.weight", out: output[0], inShape: [output[1]], rank: 4)
        lora.random("\(unet).to_out.0.lora_magnitude_vector", [output[0]], positive: true)
        message = try #require(try Self.failure(fixture, lora))
        #expect(message.contains("\(unet).to_out.0.lora_magnitude_vector is a DoRA magnitude normalised over the inputs"))

        lora = TestLoRA(seed: 9)
        lora.factors(down: "\(unet).to_q.lora_A.weight", up: "\(unet).to_q.lora_B.weight", out: query[0], inShape: [query[1]], rank: 4)
        lora.random("\(unet).to_q.lora_magnitude_vector", [query[0] + 1])
        message = try #require(try Self.failure(fixture, lora))
        #expect(message.contains("\(unet).to_q.lora_magnitude_vector has shape [\(query[0] + 1)]"))

        lora = TestLoRA(seed: 10)
        lora.factors(down: "\(unet).to_q.lora_down.weight", up: "\(unet).to_q.lora_up.weight", out: query[0], inShape: [query[1]], rank: 4)
        lora.random("\(unet).to_q.alpha", [2])
        message = try #require(try Self.failure(fixture, lora))
        #expect(message.contains("\(unet).to_q.alpha has shape [2]"))

        let kohya = try #require(LoRANames.kohyaSDXL(attention + ".to_q", layersPerBlock: 2))
        lora = TestLoRA(seed: 11)
        for suffix in ["hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"] { lora.random("\(kohya).\(suffix)", [2, 2]) }
        message = try #require(try Self.failure(fixture, lora))
        #expect(message.contains("\(kohya).hada_w1_a is a LoHa tensor on \(attention).to_q"))
    }

    @Test("LoHa/LoKr tensors and conv LoRAs on modules pruning leaves whole are copied byte for byte")
    func otherAlgorithmsOnUntouchedModules() throws {
        let fixture = try PrunedFixture("sdxl-small", architecture: SDXLArchitecture())
        var lora = TestLoRA(seed: 12)
        for suffix in ["hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"] { lora.random("lora_unet_input_blocks_1_0_in_layers_2.\(suffix)", [2, 8]) }
        lora.random("lora_unet_input_blocks_2_0_in_layers_2.lokr_w1", [2, 2])
        lora.random("lora_unet_input_blocks_2_0_in_layers_2.lokr_w2", [4, 36])
        let path = fixture.temporaryPath("loha") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try lora.write(path, dtype: .bfloat16)
        let result = try PrunedLoRA.adapt(lora: path, to: fixture.layout)
        let input = try SafetensorsFile.open(path)
        for key in input.keys { #expect(result.tensors[key] == (try input.storedTensor(key))) }
        #expect(result.report.unchangedModules == 2 && result.report.slicedModules == 0)
    }

    @Test("Empty, truncated and non-safetensors LoRA files are refused naming the file")
    func unreadableFiles() throws {
        let fixture = try PrunedFixture("sdxl-tiny", architecture: SDXLArchitecture())
        let path = fixture.temporaryPath("broken") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafetensorsWriter.write([:], to: path)
        #expect(throws: LoRAAdaptationError.lora(.empty(path: path))) { try PrunedLoRA.adapt(lora: path, to: fixture.layout) }

        var lora = TestLoRA(seed: 13)
        lora.factors(down: "unet.mid_block.attentions.0.proj_in.lora_A.weight", up: "unet.mid_block.attentions.0.proj_in.lora_B.weight", out: 4, inShape: [4], rank: 2)
        try lora.write(path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 7).write(to: URL(fileURLWithPath: path))
        var truncated: String?
        do { _ = try PrunedLoRA.adapt(lora: path, to: fixture.layout) } catch { truncated = error.description }
        #expect(truncated?.hasPrefix(path) == true && truncated?.contains("not a readable LoRA safetensors file") == true)

        try Data("not a safetensors file".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: LoRAAdaptationError.self) { try PrunedLoRA.adapt(lora: path, to: fixture.layout) }
    }

    @Test("A folder that is not a pruned export, or whose prunekit.json disagrees with its config or weights, is refused")
    func badPrunedExports() throws {
        let fixture = try PrunedFixture("sdxl-small", architecture: SDXLArchitecture())
        func message(_ path: String) -> String? {
            do { _ = try PrunedDenoiserLayout(path: path); return nil } catch { return error.description }
        }
        #expect(message(Fixtures.path("sdxl-small"))?.contains("has no prunekit.json") == true)
        #expect(message(fixture.temporaryPath("absent"))?.contains("not a folder") == true)

        // prunekit.json keeps every unit of a module the weights lost units of.
        let copy = fixture.temporaryPath("tampered")
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: fixture.directory, toPath: copy)
        var manifest = try ExportManifest.load(directory: copy)
        let index = try #require(manifest.modules.firstIndex { $0.keptUnits < $0.originalUnits && $0.kind == .attentionHead })
        let module = manifest.modules[index]
        manifest.modules[index] = ExportManifest.Module(key: module.key, kind: module.kind, originalUnits: module.originalUnits, kept: Array(0..<module.originalUnits))
        try manifest.encoded().write(to: URL(fileURLWithPath: copy + "/prunekit.json"))
        let tampered = try #require(message(copy))
        #expect(tampered.contains("\(module.key).to_k.weight is [") && tampered.contains("prunekit.json's kept units give"))

        // prunekit.json with another unit count than config.json.
        manifest.modules[index] = ExportManifest.Module(key: module.key, kind: module.kind, originalUnits: module.originalUnits + 1, kept: [0])
        try manifest.encoded().write(to: URL(fileURLWithPath: copy + "/prunekit.json"))
        #expect(message(copy)?.contains("prunekit.json does not fit config.json at \(module.key)") == true)
    }
}
