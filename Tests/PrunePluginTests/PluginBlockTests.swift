import CPrunePlugin
import Foundation
import PruneKit
import PruneNN
import PruneTensor
import PruneTestSupport
import Testing

@testable import PrunePluginHost

/// Whole blocks as units through the plugin ABI: the DiT plugin's block list `blocks` (masking, gradients, export with
/// a new `depth` and reload), `builder_block_depth_key`, and criteria on plugin block groups (activation sees them, FPGM
/// refuses them by name; gradient-flow: `ReferencePluginTests.gradientFlowScoresBlocks`, where its settings are changed).
@Suite(.serialized) struct PluginBlockTests {
    static func ditModel(seed: UInt64) throws -> (any PrunableModel, ArchitectureRegistry) { try ReferencePluginTests.ditModel(seed: seed) }

    static let inputs = [
        "sample": Tensor.randomNormal([2, 4, 8, 8], seed: 1), "timestep": Tensor([500, 20], shape: [2]),
        "class_labels": Tensor.randomNormal([2, 1001], seed: 2),
    ]

    @Test("DiT declares its transformer blocks as the block list `blocks`, each owning every blocks.<i>. tensor, with depth as its config key")
    func ditDeclaresItsBlocks() throws {
        let (model, _) = try Self.ditModel(seed: 5)
        let list = try #require(model.unitGroups.first { $0.kind == .block })
        #expect(list.moduleKey == "blocks" && list.unitCount == 2 && list.slices.isEmpty)
        #expect(model.unitGroups.map(\.moduleKey) == ["blocks.0.attn", "blocks.0.mlp", "blocks.1.attn", "blocks.1.mlp", "blocks"])
        #expect(list.wholeTensors[1].count == 10 && list.wholeTensors[1].allSatisfy { $0.hasPrefix("blocks.1.") })
        #expect(list.wholeTensors[1].contains("blocks.1.adaLN_modulation.1.weight"))
        #expect((model as? PluginModel)?.blockDepthKeys == ["blocks": "depth"])
        let counted = list.unitParameterCounts { model.layout.shapes[$0] }
        let perBlock = 3 * 64 * 64 + 3 * 64 + 64 * 64 + 64 + 2 * 256 * 64 + 256 + 64 + 6 * 64 * 64 + 6 * 64
        #expect(counted == [perBlock, perBlock])
    }

    @Test("a DiT block mask of 1 leaves the block, 0 skips it, and its gradient matches finite differences")
    func ditBlockMask() throws {
        let (model, _) = try Self.ditModel(seed: 9)
        let full = try withoutGradients { try model.forward(Self.inputs, masks: .none) }
        let ones = try withoutGradients { try model.forward(Self.inputs, masks: UnitMasks(["blocks": Tensor.ones([2])])) }
        #expect(maximumRelativeError(ones, full) < 1e-6)
        let skipped = try withoutGradients { try model.forward(Self.inputs, masks: UnitMasks(["blocks": Tensor([1, 0], shape: [2])])) }
        #expect(maximumRelativeError(skipped, full) > 1e-3)

        let mask = Tensor([1, 0.6], shape: [2], requiresGradient: true)
        try model.forward(Self.inputs, masks: UnitMasks(["blocks": mask])).pow(2).mean().backward()
        let gradient = try #require(mask.gradient).scalars()
        for unit in 0..<2 {
            func value(_ delta: Float) throws -> Float {
                var values: [Float] = [1, 0.6]
                values[unit] += delta
                return try withoutGradients { try model.forward(Self.inputs, masks: UnitMasks(["blocks": Tensor(values, shape: [2])])).pow(2).mean().item() }
            }
            let numeric = (try value(1e-2) - value(-1e-2)) / 2e-2
            #expect(abs(numeric - gradient[unit]) <= 2e-3 + 0.02 * abs(numeric), "block \(unit): \(numeric) vs \(gradient[unit])")
        }
        #expect(throws: PluginModelError.maskShape(module: "blocks", expected: 2, actual: [3])) {
            try model.forward(Self.inputs, masks: UnitMasks(["blocks": Tensor.ones([3])]))
        }
    }

    @Test("a block-pruned DiT export writes the new depth, renumbers the blocks and reproduces the masked model, down to depth 0")
    func ditBlockExportReloads() throws {
        let (model, registry) = try Self.ditModel(seed: 5)
        let temporary = try PluginTestSupport.temporaryDirectory("dit-blocks")
        defer { try? FileManager.default.removeItem(at: temporary) }
        var selection = UnitSelection(kept: ["blocks": [1]])
        selection.setKept([0, 2], for: "blocks.1.attn")
        selection.setKept(Array(stride(from: 0, to: 256, by: 2)), for: "blocks.1.mlp")
        for (name, selection) in [("one", selection), ("none", UnitSelection(kept: ["blocks": []]))] {
            let directory = temporary.appendingPathComponent(name).path
            let manifest = try model.exportPruned(selection: selection, to: directory)
            #expect(manifest.formatVersion == 2)
            let configuration = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))) as? [String: Any])
            let depth = selection.kept["blocks"]!.count
            #expect(configuration["depth"] as? Int == depth && configuration["hidden_size"] as? Int == 64 && configuration["_class_name"] as? String == "DiT")

            let reloaded = try registry.loadModel(directory: directory)
            #expect(reloaded.unitGroups.first { $0.kind == .block }?.unitCount == depth)
            #expect(reloaded.parameters.parameterCount == manifest.parameterCount)
            #expect(!reloaded.parameters.parameters.keys.contains { $0.hasPrefix("blocks.1.") })
            if depth == 1 {
                #expect(reloaded.parameters.parameters["blocks.0.attn.qkv.weight"]?.shape == [3 * 2 * 16, 64])  // old block 1, 2 heads
                #expect(reloaded.accounting.heads == 2 && reloaded.accounting.ffnNeurons == 128)
            }
            let masked = try withoutGradients { try model.forward(Self.inputs, masks: selection.binaryMasks(for: model.unitGroups)) }
            let actual = try withoutGradients { try reloaded.forward(Self.inputs, masks: .none) }
            #expect(maximumRelativeError(actual, masked) < 1e-5, "\(name)")
            let unmasked = try withoutGradients { try model.forward(Self.inputs, masks: .none) }
            #expect(maximumRelativeError(unmasked, masked) > 1e-3, "removing blocks changed the output")
        }
    }

    @Test("the pruned configuration changes only the depth key, and a block list without one refuses to lose blocks")
    func prunedConfiguration() throws {
        let groups = [UnitGroup(moduleKey: "layers", kind: .block, unitCount: 3, slices: [], wholeTensors: [["layers.0.w"], ["layers.1.w"], ["layers.2.w"]])]
        let original = Data(#"{"_class_name": "Thing", "layers": 3, "width": 8}"#.utf8)
        let keepAll = UnitSelection(kept: ["layers": [0, 1, 2]])
        #expect(try PluginModel.prunedConfiguration(original, groups: groups, depthKeys: [:], selection: keepAll, architecture: "Thing") == original)
        let shorter = UnitSelection(kept: ["layers": [0, 2]])
        let written = try PluginModel.prunedConfiguration(original, groups: groups, depthKeys: ["layers": "layers"], selection: shorter, architecture: "Thing")
        let object = try #require(try JSONSerialization.jsonObject(with: written) as? [String: Any])
        #expect(object.count == 3 && object["layers"] as? Int == 2 && object["width"] as? Int == 8 && object["_class_name"] as? String == "Thing")
        #expect(throws: ExportError.depthNotExpressible(architecture: "Thing", module: "layers")) {
            try PluginModel.prunedConfiguration(original, groups: groups, depthKeys: [:], selection: shorter, architecture: "Thing")
        }
        #expect(throws: ExportError.invalidConfiguration(reason: "the Thing configuration is not a JSON object")) {
            try PluginModel.prunedConfiguration(Data("[3]".utf8), groups: groups, depthKeys: ["layers": "layers"], selection: shorter, architecture: "Thing")
        }
    }

    @Test("a C architecture that names no depth key masks its blocks, but an export removing one is refused and writes nothing; naming it, the export reloads")
    func blockListWithoutDepthKey() throws {
        let temporary = try PluginTestSupport.temporaryDirectory("scaler")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let source = PluginTestSupport.repository.appendingPathComponent("Tests/PrunePluginTests/BrokenPlugins/block_list_plugin.c").path
        let inputs = ["sample": Tensor.randomNormal([1, 4, 8, 8], seed: 1), "timestep": Tensor([1], shape: [1])]
        let selection = UnitSelection(kept: ["blocks": [0, 2]])
        for declares in [false, true] {
            let library = temporary.appendingPathComponent("libscaler-\(declares).so").path
            try PluginTestSupport.compileC([source], defines: declares ? ["DECLARE_DEPTH"] : [], output: library)
            let registry = ArchitectureRegistry()
            try PluginLoader.register(try PluginLoader.load(path: library), criteria: CriterionRegistry(), architectures: registry)
            let model = try registry.makeModel(preset: "scaler-test", seed: 3)
            #expect(model.unitGroups.map(\.moduleKey) == ["blocks"] && model.unitGroups[0].wholeTensors[2] == ["blocks.2.scale"])
            let masked = try withoutGradients { try model.forward(inputs, masks: selection.binaryMasks(for: model.unitGroups)) }
            // Block 1 skipped, by hand: x ⊙ (1 + w₀) ⊙ (1 + w₂).
            let p = model.parameters.parameters
            let expected = inputs["sample"]! * (p["blocks.0.scale"]! + 1) * (p["blocks.2.scale"]! + 1)
            #expect(maximumRelativeError(masked, expected) < 1e-6)
            let out = temporary.appendingPathComponent("export-\(declares)").path
            if declares {
                try model.exportPruned(selection: selection, to: out)
                let reloaded = try registry.loadModel(directory: out)
                #expect(reloaded.unitGroups[0].unitCount == 2)
                #expect(maximumRelativeError(try withoutGradients { try reloaded.forward(inputs, masks: .none) }, masked) < 1e-6)
            } else {
                #expect(throws: ExportError.depthNotExpressible(architecture: "BlockScaler", module: "blocks")) {
                    try model.exportPruned(selection: selection, to: out)
                }
                #expect(!FileManager.default.fileExists(atPath: out))
                let kept = try model.exportPruned(selection: UnitSelection(kept: ["blocks": [0, 1, 2]]), to: out)  // no block removed: exports
                #expect(kept.parameterCount == 12)
            }
        }
    }

    @Test("a PrunePluginKit architecture on a host whose table predates builder_block_depth_key fails its build by name, reading nothing past the table")
    func olderHost() throws {
        // A private copy of libDiT.so (its own globals), initialised with ABI 1's first-release table: the appended
        // service is still in the copied memory, so only honouring struct_size makes the plugin see it missing.
        let temporary = try PluginTestSupport.temporaryDirectory("older-host")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let copy = temporary.appendingPathComponent("libDiTCopy.so").path
        try FileManager.default.copyItem(atPath: try PluginTestSupport.builtProduct("libDiT.so"), toPath: copy)
        let library = try #require(dlopen(copy, RTLD_NOW | RTLD_LOCAL))
        let entry = unsafeBitCast(try #require(dlsym(library, PRUNE_PLUGIN_ENTRY_SYMBOL)), to: prune_plugin_entry_fn.self)
        let descriptor = try #require(entry()).pointee
        let older = UnsafeMutablePointer<prune_host_services>.allocate(capacity: 1)
        older.initialize(to: HostServices.table.pointee)
        older.pointee.struct_size = UInt32(ABIMinimumSize.hostServices)
        var contents = prune_plugin_contents()
        contents.struct_size = UInt32(MemoryLayout<prune_plugin_contents>.size)
        #expect(descriptor.initialize(UnsafePointer(older), &contents) == PRUNE_OK)
        let architecture = try #require(contents.architectures?[0]).pointee
        let preset = String(cString: try #require(architecture.presets?[0].configuration_json))
        let configuration = try #require(try JSONSerialization.jsonObject(with: Data(preset.utf8)) as? [String: Any])
        let builder = ModelBuilder(store: ParameterStore(randomSeed: 1), checkpoint: nil, configuration: configuration)
        var model: UnsafeMutableRawPointer?
        let status = ModelBuilder.table.lending(builder) { architecture.build_model(architecture.context, $0, &model) }
        #expect(status == PRUNE_ERR_UNSUPPORTED && model == nil)
        let message = descriptor.last_error().map { String(cString: $0) } ?? ""
        #expect(message.contains("the host's services table predates builder_block_depth_key: blocks cannot record its depth"), "\(message)")
        #expect(builder.blockDepthKeys.isEmpty && builder.groups.last?.moduleKey == "blocks")
    }

    @Test("builder_block_depth_key is appended to the services table and refuses a list it does not know or a value that is not the depth")
    func depthKeyService() throws {
        let host = HostServices.table.pointee
        #expect(Int(host.struct_size) >= MemoryLayout<prune_host_services>.offset(of: \.builder_block_depth_key)! + MemoryLayout<UnsafeRawPointer>.size)
        #expect(MemoryLayout<prune_host_services>.offset(of: \.builder_block_depth_key)! >= ABIMinimumSize.hostServices)
        let declare = try #require(host.builder_block_depth_key)
        var lastError: String { host.last_error().map { String(cString: $0) } ?? "" }
        let builder = ModelBuilder(store: ParameterStore(randomSeed: 1), checkpoint: nil, configuration: ["depth": 2, "heads": 4, "name": "x"])
        ModelBuilder.table.lending(builder) { pointer in
            #expect(declare(pointer, "blocks", "depth") == PRUNE_ERR_INVALID_ARGUMENT)
            #expect(lastError.contains("no block list blocks was declared"))
            #expect(host.builder_unit_group(pointer, "heads", PRUNE_UNIT_ATTENTION_HEAD, 4) == PRUNE_OK)
            #expect(declare(pointer, "heads", "heads") == PRUNE_ERR_INVALID_ARGUMENT)
            #expect(host.builder_unit_group(pointer, "blocks", PRUNE_UNIT_BLOCK, 2) == PRUNE_OK)
            #expect(declare(pointer, "blocks", "heads") == PRUNE_ERR_INVALID_ARGUMENT)
            #expect(lastError.contains("configuration value heads must be the 2 blocks of blocks, got 4"))
            #expect(declare(pointer, "blocks", "name") == PRUNE_ERR_INVALID_ARGUMENT)
            #expect(declare(pointer, "blocks", "missing") == PRUNE_ERR_INVALID_ARGUMENT)
            #expect(lastError.contains("got missing"))
            #expect(declare(pointer, "blocks", nil) == PRUNE_ERR_INVALID_ARGUMENT)
            #expect(declare(pointer, "blocks", "depth") == PRUNE_OK)
            #expect(declare(pointer, "blocks", "depth") == PRUNE_ERR_INVALID_ARGUMENT)
            #expect(lastError.contains("already declared as depth"))
        }
        #expect(builder.blockDepthKeys == ["blocks": "depth"])
        #expect(declare(nil, "blocks", "depth") == PRUNE_ERR_INVALID_ARGUMENT, "outside a build, the builder pointer is refused")
    }

    @Test("the host's activation criterion sees the plugin's block masks, and scoring blocks leaves no handle behind")
    func activationScoresBlocks() throws {
        let (model, _) = try Self.ditModel(seed: 2)
        let samples = try model.calibrationSamples(prompts: model.randomConditioning(count: 1, seed: 1), settings: TrajectorySettings(steps: 2), seed: 1)
        let (_, leaked) = try TensorHandles.shared.tracking {
            let context = ScoringContext(groups: model.unitGroups, parameters: model.parameters.parameters, calibration: samples, seed: 1)
            let activation = try ActivationCriterion().scores(in: context)
            try activation.validate(against: model.unitGroups)
            #expect(activation["blocks"]!.count == 2 && activation["blocks"]!.allSatisfy { $0 > 0 }, "\(activation["blocks"]!)")
        }
        #expect(leaked == 0)
    }

    @Test("a criterion sees a block group as kind PRUNE_UNIT_BLOCK with its block count and 0 slices")
    func scoringSeesBlockGroups() throws {
        let (model, _) = try Self.ditModel(seed: 2)
        let host = HostServices.table.pointee
        let bridge = ScoringBridge(context: ScoringContext(groups: model.unitGroups, parameters: model.parameters.parameters), criterion: "test")
        let index = Int32(try #require(model.unitGroups.firstIndex { $0.kind == .block }))
        ScoringBridge.table.lending(bridge) { context in
            var key: UnsafePointer<CChar>?
            var kind: Int32 = -1
            var units: Int64 = 0
            var slices: Int32 = -1
            #expect(host.scoring_group(context, index, &key, &kind, &units) == PRUNE_OK)
            #expect(key.map { String(cString: $0) } == "blocks" && kind == PRUNE_UNIT_BLOCK && units == 2)
            #expect(host.scoring_group_slice(context, index, -1, &slices, nil, nil, nil, nil) == PRUNE_OK && slices == 0)
            #expect(host.scoring_group_slice(context, index, 0, &slices, nil, nil, nil, nil) == PRUNE_ERR_INVALID_ARGUMENT)
        }
    }

    @Test("FPGM refuses a block group with one error naming the group and its kind, and still scores heads and neurons")
    func fpgmRefusesBlocks() throws {
        let (model, _) = try Self.ditModel(seed: 2)
        let fpgm = try PluginLoader.load(path: try PluginTestSupport.builtProduct("libFPGM.so")).criteria[0]
        let parameters = model.parameters.parameters
        do {
            _ = try fpgm.scores(in: ScoringContext(groups: model.unitGroups, parameters: parameters))
            Issue.record("fpgm scored whole blocks")
        } catch let error as PluginError {
            guard case .pluginFailed(let plugin, _, let status, let message) = error else { throw error }
            #expect(plugin == "fpgm" && status == PRUNE_ERR_UNSUPPORTED)
            #expect(message.hasPrefix("fpgm cannot score blocks: its 2 units are whole blocks (kind block)"), "\(message)")
            #expect(message.contains("--units heads,neurons"))
        }
        let inner = model.unitGroups.filter { $0.kind != .block }
        try fpgm.scores(in: ScoringContext(groups: inner, parameters: parameters)).validate(against: inner)
    }
}
