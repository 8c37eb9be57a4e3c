import CPrunePlugin

/// What kind of unit a group holds.
public enum UnitKind: Int32, Sendable {
    case attentionHead = 0, feedForwardNeuron = 1, modulationOutput = 2
    /// A list of whole blocks (`PRUNE_UNIT_BLOCK`): unit u is the block `<module key>.<u>`; no slices.
    case block = 3
}

/// One group of maskable units as a criterion sees it.
public struct UnitGroupInfo: Sendable {
    public var moduleKey: String
    public var kind: UnitKind
    public var unitCount: Int
    /// Unit `u` owns `offset + u·width ..< offset + (u+1)·width` along `axis` of `key`.
    public var slices: [(key: String, axis: Int, offset: Int, width: Int)]
}

/// A criterion's view of the model being pruned and its calibration data (valid during `scores(in:)`).
public struct ScoringContextView {
    let pointer: OpaquePointer

    /// The unit groups, in model order (scores are written in this order).
    public func groups() throws(PluginFailure) -> [UnitGroupInfo] {
        let host = try Host.services()
        var groupCount: Int32 = 0
        try Host.check(host.scoring_counts(pointer, &groupCount, nil, nil), "scoring_counts")
        var groups: [UnitGroupInfo] = []
        for index in 0..<groupCount {
            var key: UnsafePointer<CChar>?
            var kind: Int32 = 0
            var units: Int64 = 0
            try Host.check(host.scoring_group(pointer, index, &key, &kind, &units), "scoring_group \(index)")
            var sliceCount: Int32 = 0
            try Host.check(host.scoring_group_slice(pointer, index, -1, &sliceCount, nil, nil, nil, nil), "scoring_group_slice")
            var slices: [(key: String, axis: Int, offset: Int, width: Int)] = []
            for slice in 0..<sliceCount {
                var sliceKey: UnsafePointer<CChar>?
                var axis: Int32 = 0
                var offset: Int64 = 0
                var width: Int64 = 0
                try Host.check(host.scoring_group_slice(pointer, index, slice, nil, &sliceKey, &axis, &offset, &width), "scoring_group_slice")
                slices.append((String(cString: sliceKey!), Int(axis), Int(offset), Int(width)))
            }
            groups.append(
                UnitGroupInfo(
                    moduleKey: String(cString: key!), kind: UnitKind(rawValue: kind) ?? .feedForwardNeuron, unitCount: Int(units), slices: slices))
        }
        return groups
    }

    /// Number of calibration samples.
    public func sampleCount() throws(PluginFailure) -> Int {
        var samples: Int32 = 0
        try Host.check(try Host.services().scoring_counts(pointer, nil, &samples, nil), "scoring_counts")
        return Int(samples)
    }

    /// The run's seed.
    public func seed() throws(PluginFailure) -> UInt64 {
        var seed: UInt64 = 0
        try Host.check(try Host.services().scoring_counts(pointer, nil, nil, &seed), "scoring_counts")
        return seed
    }

    /// The model parameter `key`.
    public func parameter(_ key: String) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("scoring_parameter \(key)") { host.scoring_parameter(pointer, key, $0) }
    }

    /// Sample `index`: its step count, initial latents and unmasked final latents (the target).
    public func sample(_ index: Int) throws(PluginFailure) -> (steps: Int, initialLatents: HostTensor, target: HostTensor) {
        var steps: Int32 = 0
        var initial: prune_tensor?
        var target: prune_tensor?
        try Host.check(try Host.services().scoring_sample(pointer, Int32(index), &steps, &initial, &target), "scoring_sample \(index)")
        return (Int(steps), HostTensor(owning: initial!), HostTensor(owning: target!))
    }

    /// The latents after step `step` of sample `sample`, with one mask per group (`nil`: unmasked).
    public func step(sample: Int, step: Int, latents: HostTensor, masks: [HostTensor?]) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        let handles: [prune_tensor?] = masks.map { $0?.handle }
        return try HostTensor.make("scoring_step \(sample)/\(step)") { out in
            handles.withUnsafeBufferPointer { host.scoring_step(pointer, Int32(sample), Int32(step), latents.handle, $0.baseAddress, Int32(handles.count), out) }
        }
    }

    /// Sums `values` over the ranks of a data-parallel run (`scoring_sum_over_ranks`); a host whose table predates
    /// the service runs one process, where the sum is the values themselves.
    public func sumOverRanks(_ values: inout [Double]) throws(PluginFailure) {
        guard let sum = try Host.services().scoring_sum_over_ranks else { return }
        let status = values.withUnsafeMutableBufferPointer { sum(pointer, $0.baseAddress, Int64($0.count)) }
        try Host.check(status, "scoring_sum_over_ranks")
    }

    /// Reports progress to the host.
    public func progress(completed: Int, total: Int, message: String) {
        _ = Host.table?.pointee.scoring_progress(pointer, Int64(completed), Int64(total), message)
    }
}

/// What a model build sees: parameters by key (from the checkpoint or a seed), the stored shapes of a
/// checkpoint (to read pruned widths back), the configuration, and unit declarations.
public struct ModelBuilderView {
    let pointer: OpaquePointer

    /// How a parameter built from a seed is initialised.
    public enum Initialization {
        case zeros, ones
        /// Uniform in ±1/√fanIn.
        case fanInUniform(fanIn: Int)
        case normal(standardDeviation: Float)
    }

    /// The parameter `key` of `shape`.
    public func parameter(_ key: String, shape: [Int], initialization: Initialization) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        let extents = shape.map(Int64.init)
        let (code, argument): (Int32, Float) = switch initialization {
        case .zeros: (PRUNE_INIT_ZEROS, 0)
        case .ones: (PRUNE_INIT_ONES, 0)
        case .fanInUniform(let fanIn): (PRUNE_INIT_FAN_IN_UNIFORM, Float(fanIn))
        case .normal(let deviation): (PRUNE_INIT_NORMAL, deviation)
        }
        return try HostTensor.make("builder_parameter \(key)") { host.builder_parameter(pointer, key, extents, Int32(shape.count), code, argument, $0) }
    }

    /// The checkpoint's shape for `key`, or `nil` when the model is built from a seed.
    public func checkpointShape(_ key: String) throws(PluginFailure) -> [Int]? {
        var extents = [Int64](repeating: 0, count: Int(PRUNE_MAX_RANK))
        var rank: Int32 = 0
        try Host.check(try Host.services().builder_checkpoint_shape(pointer, key, &extents, PRUNE_MAX_RANK, &rank), "checkpoint shape of \(key)")
        return rank < 0 ? nil : extents.prefix(Int(rank)).map(Int.init)
    }

    /// The integer configuration value `name`.
    public func configInt(_ name: String) throws(PluginFailure) -> Int {
        var value: Int64 = 0
        try Host.check(try Host.services().builder_config_int(pointer, name, &value), "configuration value \(name)")
        return Int(value)
    }

    /// Declares a group of maskable units with its parameter slices.
    public func unitGroup(_ moduleKey: String, kind: UnitKind, units: Int, slices: [(key: String, axis: Int, offset: Int, width: Int)]) throws(PluginFailure) {
        let host = try Host.services()
        try Host.check(host.builder_unit_group(pointer, moduleKey, kind.rawValue, Int64(units)), "unit group \(moduleKey)")
        for slice in slices {
            try Host.check(
                host.builder_unit_slice(pointer, slice.key, Int32(slice.axis), Int64(slice.offset), Int64(slice.width)),
                "unit slice \(slice.key) of \(moduleKey)")
        }
    }
}

extension ModelBuilderView {
    /// Declares the list `listKey` of `blocks` whole blocks (`PRUNE_UNIT_BLOCK`): block u owns every parameter whose
    /// key starts with `<listKey>.<u>.`, and its mask is `mask(listKey)` `[blocks]`, applied as
    /// ``HostTensor/blockMasked(input:output:mask:index:)``. With `depthKey`, the configuration integer holding the
    /// depth (it must equal `blocks`): exports that remove blocks write the kept count there and renumber the rest,
    /// so ``ArchitecturePlugin/buildModel(_:)`` reloads them by reading the depth as usual. Without it, exports
    /// refuse to remove whole blocks of this list.
    /// - Throws: ``PluginFailure`` (`PRUNE_ERR_UNSUPPORTED` when `depthKey` is given and the host predates
    ///   `builder_block_depth_key`).
    public func blockList(_ listKey: String, blocks: Int, depthKey: String?) throws(PluginFailure) {
        try unitGroup(listKey, kind: .block, units: blocks, slices: [])
        guard let depthKey else { return }
        guard let declare = try Host.services().builder_block_depth_key else {
            throw PluginFailure.unsupported("the host's services table predates builder_block_depth_key: \(listKey) cannot record its depth")
        }
        try Host.check(declare(pointer, listKey, depthKey), "depth key \(depthKey) of \(listKey)")
    }
}

/// One forward call's inputs and masks (valid during `forward`/`predict`).
public struct ForwardCallView {
    let pointer: OpaquePointer

    /// The input `name`.
    public func input(_ name: String) throws(PluginFailure) -> HostTensor {
        let host = try Host.services()
        return try HostTensor.make("input \(name)") { host.call_input(pointer, name, $0) }
    }

    /// The unit mask of `moduleKey`, or `nil` when that module is unmasked.
    public func mask(_ moduleKey: String) throws(PluginFailure) -> HostTensor? {
        var out: prune_tensor?
        try Host.check(try Host.services().call_mask(pointer, moduleKey, &out), "mask \(moduleKey)")
        return out.map(HostTensor.init(owning:))
    }

    /// The guidance scale (1 for a plain forward).
    public func guidance() throws(PluginFailure) -> Float {
        var scale: Float = 1
        try Host.check(try Host.services().call_guidance(pointer, &scale), "guidance")
        return scale
    }
}
