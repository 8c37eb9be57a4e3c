import CPrunePlugin
import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// The services table (`prune_host_services`) every plugin receives: logging, memory, tensor handles,
/// autodiff, the tensor operations (see `HostServices+Operations.swift`), model building, forward calls
/// and scoring contexts. Built once; it lives for the process.
public enum HostServices {
    /// Where `host->log` messages go (stderr unless replaced, e.g. by a test).
    nonisolated(unsafe) public static var logSink: @Sendable (Int32, String) -> Void = { level, message in
        let label = ["debug", "info", "warning", "error"][Int(min(max(level, 0), 3))]
        FileHandle.standardError.write(Data("plugin \(label): \(message)\n".utf8))
    }

    /// The table handed to every plugin's `initialize`.
    nonisolated(unsafe) public static let table: UnsafePointer<prune_host_services> = {
        let table = UnsafeMutablePointer<prune_host_services>.allocate(capacity: 1)
        table.initialize(to: prune_host_services())
        table.pointee.abi_version = PRUNE_PLUGIN_ABI_VERSION
        table.pointee.struct_size = UInt32(MemoryLayout<prune_host_services>.size)
        fillCore(table)
        fillOperations(table)
        fillModelServices(table)
        return UnsafePointer(table)
    }()

    private static func fillCore(_ t: UnsafeMutablePointer<prune_host_services>) {
        t.pointee.log = { level, message in
            HostServices.logSink(level, message.map { String(cString: $0) } ?? "")
        }
        t.pointee.last_error = { ThreadErrorText.current }
        t.pointee.allocate = { bytes in
            var pointer: UnsafeMutableRawPointer?
            return posix_memalign(&pointer, 64, max(bytes, 1)) == 0 ? pointer : nil
        }
        t.pointee.deallocate = { pointer in free(pointer) }

        t.pointee.tensor_release = { handle in
            guard let handle else { return PRUNE_OK }
            return Service.run { try TensorHandles.shared.release(handle) }
        }
        t.pointee.tensor_retain = { handle, out in Service.produce(out) { try Service.tensor(handle, "tensor") } }
        t.pointee.tensor_shape = { handle, shape, capacity, rank in
            Service.run {
                let tensor = try Service.tensor(handle, "tensor")
                guard let rank else { throw ServiceFailure.invalidArgument("rank pointer is NULL") }
                rank.pointee = Int32(tensor.rank)
                guard Int(capacity) >= tensor.rank else {
                    throw ServiceFailure(status: PRUNE_ERR_BUFFER_TOO_SMALL, message: "shape capacity \(capacity) < rank \(tensor.rank)")
                }
                if tensor.rank > 0 {
                    guard let shape else { throw ServiceFailure.invalidArgument("shape pointer is NULL") }
                    for (index, extent) in tensor.shape.enumerated() { shape[index] = Int64(extent) }
                }
            }
        }
        t.pointee.tensor_read = { handle, values, count in
            Service.run {
                let tensor = try Service.tensor(handle, "tensor")
                guard Int(count) == tensor.count else {
                    throw ServiceFailure.shape("tensor_read: count \(count), but the tensor \(tensor.shape) has \(tensor.count) elements")
                }
                guard tensor.count == 0 || values != nil else { throw ServiceFailure.invalidArgument("values is NULL") }
                let scalars = tensor.scalars()
                scalars.withUnsafeBufferPointer { buffer in
                    if let base = buffer.baseAddress, let values { values.update(from: base, count: buffer.count) }
                }
            }
        }
        t.pointee.tensor_create = { values, count, shape, rank, requiresGradient, out in
            Service.produce(out) {
                let shape = try Service.shape(shape, rank)
                let elements = shape.reduce(1, *)
                guard Int(count) == elements else {
                    throw ServiceFailure.shape("tensor_create: count \(count), but shape \(shape) has \(elements) elements")
                }
                guard elements == 0 || values != nil else { throw ServiceFailure.invalidArgument("values is NULL") }
                let array = elements == 0 ? [] : Array(UnsafeBufferPointer(start: values, count: elements))
                return Tensor(array, shape: shape, requiresGradient: requiresGradient != 0)
            }
        }
        t.pointee.tensor_full = { shape, rank, value, out in
            Service.produce(out) { Tensor.full(try Service.shape(shape, rank), value: value) }
        }
        t.pointee.tensor_random_normal = { shape, rank, seed, out in
            Service.produce(out) { Tensor.randomNormal(try Service.shape(shape, rank), seed: seed) }
        }
        t.pointee.detach = { handle, out in Service.produce(out) { try Service.tensor(handle, "tensor").detached() } }

        t.pointee.backward = { handle in
            Service.run {
                let scalar = try Service.tensor(handle, "scalar")
                guard scalar.count == 1 else { throw ServiceFailure.shape("backward needs a one-element tensor, got \(scalar.shape)") }
                scalar.backward()
            }
        }
        t.pointee.gradient = { handle, out in
            guard let out else { return PRUNE_ERR_INVALID_ARGUMENT }
            out.pointee = nil
            return Service.run {
                let leaf = try Service.tensor(handle, "leaf")
                if let gradient = leaf.gradient { out.pointee = TensorHandles.shared.issue(gradient.detached()) }
            }
        }
        t.pointee.zero_gradient = { handle in Service.run { try Service.tensor(handle, "leaf").zeroGradient() } }
        t.pointee.with_gradient_mode = { enabled, body, user in
            guard let body else {
                ThreadErrorText.set("with_gradient_mode: body is NULL")
                return PRUNE_ERR_INVALID_ARGUMENT
            }
            return enabled != 0 ? withGradients { body(user) } : withoutGradients { body(user) }
        }
    }

    private static func fillModelServices(_ t: UnsafeMutablePointer<prune_host_services>) {
        t.pointee.builder_parameter = { builder, key, shape, rank, initialization, argument, out in
            Service.produce(out) {
                let builder = try ModelBuilder.table.object(builder)
                let key = try Service.string(key, "key")
                let shape = try Service.shape(shape, rank)
                guard !key.isEmpty else { throw ServiceFailure.invalidArgument("builder_parameter: the key is empty") }
                guard builder.store.parameters[key] == nil else {
                    throw ServiceFailure.invalidArgument("builder_parameter: \(key) was already declared")
                }
                let initial: Initialization
                switch initialization {
                case PRUNE_INIT_ZEROS: initial = .zeros
                case PRUNE_INIT_ONES: initial = .ones
                case PRUNE_INIT_FAN_IN_UNIFORM: initial = .fanInUniform(fanIn: max(Int(argument), 1))
                case PRUNE_INIT_NORMAL: initial = .normal(standardDeviation: argument)
                default: throw ServiceFailure.invalidArgument("builder_parameter: unknown initialization \(initialization)")
                }
                return builder.store.root.parameter(key, shape: shape, initialization: initial)
            }
        }
        t.pointee.builder_checkpoint_shape = { builder, key, shape, capacity, rank in
            Service.run {
                let builder = try ModelBuilder.table.object(builder)
                let key = try Service.string(key, "key")
                guard let rank else { throw ServiceFailure.invalidArgument("rank pointer is NULL") }
                guard let checkpoint = builder.checkpoint else {
                    rank.pointee = -1
                    return
                }
                guard let stored = checkpoint.shape(of: key) else { throw ServiceFailure.notFound("the checkpoint has no tensor \(key)") }
                rank.pointee = Int32(stored.count)
                guard Int(capacity) >= stored.count else {
                    throw ServiceFailure(status: PRUNE_ERR_BUFFER_TOO_SMALL, message: "shape capacity \(capacity) < rank \(stored.count)")
                }
                if !stored.isEmpty {
                    guard let shape else { throw ServiceFailure.invalidArgument("shape pointer is NULL") }
                    for (index, extent) in stored.enumerated() { shape[index] = Int64(extent) }
                }
            }
        }
        t.pointee.builder_config_int = { builder, name, value in
            Service.run {
                let builder = try ModelBuilder.table.object(builder)
                let name = try Service.string(name, "name")
                guard let value else { throw ServiceFailure.invalidArgument("value pointer is NULL") }
                switch builder.configuration[name] {
                case let number as NSNumber where number.doubleValue == number.doubleValue.rounded():  // true/false read as 1/0
                    value.pointee = number.int64Value
                case .some(let other): throw ServiceFailure.invalidArgument("configuration value \(name) is \(other), not an integer")
                case .none: throw ServiceFailure.notFound("the configuration has no value \(name)")
                }
            }
        }
        t.pointee.builder_unit_group = { builder, moduleKey, kind, unitCount in
            Service.run {
                let builder = try ModelBuilder.table.object(builder)
                let key = try Service.string(moduleKey, "module_key")
                let kinds: [Int32: UnitKind] = [
                    PRUNE_UNIT_ATTENTION_HEAD: .attentionHead, PRUNE_UNIT_FFN_NEURON: .feedForwardNeuron,
                    PRUNE_UNIT_MODULATION_OUTPUT: .modulationOutput, PRUNE_UNIT_BLOCK: .block,
                ]
                guard let unitKind = kinds[kind] else { throw ServiceFailure.invalidArgument("unknown unit kind \(kind)") }
                guard !key.isEmpty, unitCount >= 0 else { throw ServiceFailure.invalidArgument("unit group \(key): bad key or count \(unitCount)") }
                guard !builder.groups.contains(where: { $0.moduleKey == key }) else {
                    throw ServiceFailure.invalidArgument("unit group \(key) was already declared")
                }
                builder.groups.append(UnitGroup(moduleKey: key, kind: unitKind, unitCount: Int(unitCount), slices: []))
            }
        }
        t.pointee.builder_unit_slice = { builder, key, axis, offset, width in
            Service.run {
                let builder = try ModelBuilder.table.object(builder)
                let key = try Service.string(key, "key")
                guard !builder.groups.isEmpty else { throw ServiceFailure.invalidArgument("builder_unit_slice before any builder_unit_group") }
                guard builder.groups[builder.groups.count - 1].kind != .block else {
                    throw ServiceFailure.invalidArgument("slice of \(key): a block group owns whole tensors and takes no slices")
                }
                guard axis >= 0, offset >= 0, width >= 1 else {
                    throw ServiceFailure.invalidArgument("slice of \(key): axis \(axis), offset \(offset), width \(width)")
                }
                builder.groups[builder.groups.count - 1].slices.append(
                    ParameterSlice(key: key, axis: Int(axis), offset: Int(offset), width: Int(width)))
            }
        }
        t.pointee.builder_block_depth_key = { builder, listKey, configKey in
            Service.run {
                let builder = try ModelBuilder.table.object(builder)
                let list = try Service.string(listKey, "list_key")
                let key = try Service.string(configKey, "config_key")
                guard let group = builder.groups.first(where: { $0.moduleKey == list }), group.isBlockList else {
                    throw ServiceFailure.invalidArgument("builder_block_depth_key: no block list \(list) was declared (declare it with builder_unit_group, kind PRUNE_UNIT_BLOCK, first)")
                }
                guard builder.blockDepthKeys[list] == nil else {
                    throw ServiceFailure.invalidArgument("builder_block_depth_key: the depth of \(list) was already declared as \(builder.blockDepthKeys[list]!)")
                }
                guard let number = builder.configuration[key] as? NSNumber, number.doubleValue == Double(group.unitCount) else {
                    let found = builder.configuration[key].map { "\($0)" } ?? "missing"
                    throw ServiceFailure.invalidArgument(
                        "builder_block_depth_key: configuration value \(key) must be the \(group.unitCount) blocks of \(list), got \(found)")
                }
                builder.blockDepthKeys[list] = key
            }
        }

        t.pointee.call_input = { call, name, out in
            Service.produce(out) {
                let call = try ForwardCall.table.object(call)
                let name = try Service.string(name, "name")
                guard let tensor = call.inputs[name] else {
                    throw ServiceFailure.notFound("no input named \(name) (given: \(call.inputs.keys.sorted().joined(separator: ", ")))")
                }
                return tensor
            }
        }
        t.pointee.call_mask = { call, moduleKey, out in
            guard let out else { return PRUNE_ERR_INVALID_ARGUMENT }
            out.pointee = nil
            return Service.run {
                let call = try ForwardCall.table.object(call)
                let key = try Service.string(moduleKey, "module_key")
                if let mask = call.masks[key] { out.pointee = TensorHandles.shared.issue(mask) }
            }
        }
        t.pointee.call_guidance = { call, scale in
            Service.run {
                let call = try ForwardCall.table.object(call)
                guard let scale else { throw ServiceFailure.invalidArgument("scale pointer is NULL") }
                scale.pointee = call.guidance
            }
        }

        t.pointee.scoring_counts = { context, groups, samples, seed in
            Service.run {
                let bridge = try ScoringBridge.table.object(context)
                groups?.pointee = Int32(bridge.context.groups.count)
                samples?.pointee = Int32(bridge.context.calibration.count)
                seed?.pointee = bridge.context.seed
            }
        }
        t.pointee.scoring_group = { context, index, moduleKey, kind, unitCount in
            Service.run {
                let bridge = try ScoringBridge.table.object(context)
                let group = try bridge.group(index)
                moduleKey?.pointee = UnsafePointer(bridge.moduleKeys[Int(index)])
                kind?.pointee = switch group.kind {
                case .attentionHead: PRUNE_UNIT_ATTENTION_HEAD
                case .feedForwardNeuron: PRUNE_UNIT_FFN_NEURON
                case .modulationOutput: PRUNE_UNIT_MODULATION_OUTPUT
                case .block: PRUNE_UNIT_BLOCK
                }
                unitCount?.pointee = Int64(group.unitCount)
            }
        }
        t.pointee.scoring_group_slice = { context, index, slice, sliceCount, key, axis, offset, width in
            Service.run {
                let bridge = try ScoringBridge.table.object(context)
                let group = try bridge.group(index)
                sliceCount?.pointee = Int32(group.slices.count)
                guard slice >= 0 else { return }  // a negative slice asks for the count only
                guard Int(slice) < group.slices.count else {
                    throw ServiceFailure.invalidArgument("slice \(slice) of \(group.moduleKey) is outside 0..<\(group.slices.count)")
                }
                let found = group.slices[Int(slice)]
                key?.pointee = UnsafePointer(bridge.sliceKeys[Int(index)][Int(slice)])
                axis?.pointee = Int32(found.axis)
                offset?.pointee = Int64(found.offset)
                width?.pointee = Int64(found.width)
            }
        }
        t.pointee.scoring_parameter = { context, key, out in
            Service.produce(out) {
                let bridge = try ScoringBridge.table.object(context)
                let key = try Service.string(key, "key")
                guard let tensor = bridge.context.parameters[key] else { throw ServiceFailure.notFound("the model has no parameter \(key)") }
                // Plugins get float32: a 16-bit weight is widened into a copy the handle owns.
                return tensor.widenedToFloat32()
            }
        }
        t.pointee.scoring_sample = { context, index, steps, initialLatents, target in
            initialLatents?.pointee = nil
            target?.pointee = nil
            return Service.run {
                let bridge = try ScoringBridge.table.object(context)
                let sample = try bridge.sample(index)
                steps?.pointee = Int32(sample.trajectory.stepCount)
                initialLatents?.pointee = TensorHandles.shared.issue(sample.trajectory.initialLatents(noise: sample.noise))
                target?.pointee = TensorHandles.shared.issue(sample.target)
            }
        }
        t.pointee.scoring_step = { context, index, step, latents, masks, maskCount, out in
            Service.produce(out) {
                let bridge = try ScoringBridge.table.object(context)
                let sample = try bridge.sample(index)
                guard step >= 0, Int(step) < sample.trajectory.stepCount else {
                    throw ServiceFailure.invalidArgument("step \(step) is outside 0..<\(sample.trajectory.stepCount)")
                }
                let latents = try Service.tensor(latents, "latents")
                var unitMasks: [String: Tensor] = [:]
                if let masks {
                    guard maskCount >= 0, Int(maskCount) <= bridge.context.groups.count else {
                        throw ServiceFailure.invalidArgument("mask_count \(maskCount) exceeds the \(bridge.context.groups.count) groups")
                    }
                    for index in 0..<Int(maskCount) {
                        let group = bridge.context.groups[index]
                        guard let mask = try Service.optionalTensor(masks[index], "masks[\(index)]") else { continue }
                        guard mask.shape == [group.unitCount] else {
                            throw ServiceFailure.shape("mask of \(group.moduleKey) must be [\(group.unitCount)], got \(mask.shape)")
                        }
                        unitMasks[group.moduleKey] = mask
                    }
                }
                return try sample.trajectory.step(latents, index: Int(step), masks: UnitMasks(unitMasks))
            }
        }
        t.pointee.scoring_sum_over_ranks = { context, values, count in
            Service.run {
                let bridge = try ScoringBridge.table.object(context)
                guard count >= 0, count <= Int64(Int32.max) * 16 else {
                    throw ServiceFailure.invalidArgument("scoring_sum_over_ranks: count \(count) is outside 0…\(Int64(Int32.max) * 16)")
                }
                guard count > 0 else { return }
                guard let values else { throw ServiceFailure.invalidArgument("scoring_sum_over_ranks: values is NULL for \(count) values") }
                let buffer = UnsafeMutableBufferPointer(start: values, count: Int(count))
                var sums = Array(buffer)
                try bridge.context.calibrationShard.group.allReduceSum(&sums)
                _ = buffer.update(fromContentsOf: sums)
            }
        }
        t.pointee.scoring_progress = { context, completed, total, message in
            Service.run {
                let bridge = try ScoringBridge.table.object(context)
                bridge.context.progress(
                    ScoringProgress(
                        criterion: bridge.criterion, completed: Int(completed), total: Int(total), message: message.map { String(cString: $0) } ?? ""))
            }
        }
    }
}
