import PruneTensor

/// Cuts a LoRA trained for an unpruned model down to a pruned model's shapes.
///
/// For every LoRA module on a weight `W` `[out, in]` that pruning narrows, with `rows` and `columns` the
/// kept indices of `W` along its two axes (``ParameterSurgery/keptIndices``, the same indices that cut `W`
/// itself):
/// - `B` `[out, r]` keeps `rows`, `A` `[r, in]` keeps `columns`, so `B'·A' = (B·A)[rows][:, columns]`
///   exactly; the rank `r` and `alpha` are unchanged, so the scale `alpha / r` is too;
/// - PEFT's `lora_B.bias` and `diff_b` keep `rows`, `diff` keeps `rows` and `columns`;
/// - a DoRA magnitude keeps `rows` when it has one value per output and the module loses no inputs (its
///   row norms are then unchanged), or `columns` when it has one per input and the module loses no outputs;
///   otherwise it is refused (``LoRAError/magnitudeOverRemovedUnits(path:key:module:removed:)``);
/// - LoHa, LoKr, GLoRA, OFT tensors are refused on a narrowed module.
/// A fused module in an original checkpoint's naming (BFL `qkv`, `linear1`) keeps, in each part's block of
/// rows, that part's kept rows. Every tensor of a module that keeps all its rows and columns — and every
/// tensor of another component (text encoders) — is copied byte for byte. Sliced tensors keep their
/// dtype and bits (``StoredTensor/selecting(_:axis:)``); key names and the file's metadata are unchanged.
///
/// When whole blocks were removed, a module of a removed block is dropped with all its tensors, and a module of a
/// kept block that moved is renamed to the block's new index in the file's own naming (kohya, PEFT, BFL …): the
/// number in the module name that, replaced by the new index, resolves to the moved module — checked through the
/// resolver, so a name whose index cannot be found that way is refused, never guessed.
///
/// So merging the sliced LoRA into the pruned model gives the pruned version of the LoRA-merged original.
public enum LoRASlicing {
    /// What slicing did.
    public struct Report: Sendable, Equatable {
        /// Denoiser modules whose tensors were cut.
        public var slicedModules: Int
        /// Denoiser modules copied unchanged (pruning leaves their weights whole).
        public var unchangedModules: Int
        /// Modules of other components (text encoders), copied unchanged.
        public var otherComponentModules: Int
        /// Modules of removed blocks, left out.
        public var droppedModules: Int = 0
        /// Modules of kept blocks that moved, renamed to the block's new index.
        public var renamedModules: Int = 0
        /// Elements of all tensors before and after.
        public var elementsBefore: Int
        public var elementsAfter: Int

        public init(slicedModules: Int = 0, unchangedModules: Int = 0, otherComponentModules: Int = 0, elementsBefore: Int = 0, elementsAfter: Int = 0) {
            self.slicedModules = slicedModules
            self.unchangedModules = unchangedModules
            self.otherComponentModules = otherComponentModules
            self.elementsBefore = elementsBefore
            self.elementsAfter = elementsAfter
        }
    }

    /// The sliced file's contents.
    public struct Result: Sendable {
        /// Every tensor of the input under its own key, sliced or unchanged.
        public var tensors: [String: StoredTensor]
        /// The input's `__metadata__`, unchanged.
        public var metadata: [String: String]
        public var report: Report
    }

    /// Slices every tensor of `file`.
    ///
    /// - Parameters:
    ///   - file: the LoRA, trained for the unpruned model.
    ///   - resolver: maps the file's module names to the model's modules.
    ///   - surgery: the pruning (unpruned unit groups, kept units, unpruned shapes of the weights it cuts).
    ///   - originalShapes: the shape of every parameter of the unpruned model, by key.
    /// - Throws: ``LoRAError`` naming the first key that names no module, does not fit its module's shape, or
    ///   cannot be cut; nothing is returned then.
    public static func slice(
        _ file: SafetensorsFile, resolver: any LoRAModuleResolver, surgery: ParameterSurgery, originalShapes: [String: [Int]]
    ) throws(LoRAError) -> Result {
        let inventory = try LoRAInventory(file: file, resolver: resolver)
        var tensors: [String: StoredTensor] = [:]
        var report = Report()
        func read(_ key: String) throws(LoRAError) -> StoredTensor {
            do { return try file.storedTensor(key) } catch { throw .unreadable(path: file.path, reason: error.description) }
        }
        for module in inventory.modules {
            guard let target = module.target else {
                for key in module.allKeys { tensors[key] = try read(key) }
                report.otherComponentModules += 1
                continue
            }
            let moved = try blockMove(module: module, target: target, resolver: resolver, surgery: surgery, path: file.path)
            switch moved {
            case .dropped:
                report.droppedModules += 1
                continue
            case .renamed: report.renamedModules += 1
            case .unchanged: break
            }
            /// The tensor's key in the output: the module's new name when its block moved.
            func outputKey(_ key: String) -> String {
                guard case .renamed(let name) = moved else { return key }
                return name + key.dropFirst(module.name.count)
            }
            let geometry = try LoRAModuleGeometry(module: module, target: target, file: file) { originalShapes[$0] }
            let kept = try keptIndices(module: module, target: target, geometry: geometry, surgery: surgery, path: file.path)
            guard kept.rows != nil || kept.columns != nil else {
                for key in module.allKeys { tensors[outputKey(key)] = try read(key) }
                report.unchangedModules += 1
                continue
            }
            if let other = module.otherKeys.first {
                throw .unsliceableAlgorithm(path: file.path, key: other.key, algorithm: other.algorithm, module: target.description)
            }
            for (role, key) in module.keys {
                let stored = try read(key)
                guard stored.isSliceable else { throw .unsliceableDType(path: file.path, key: key, dtype: stored.dtype.name) }
                tensors[outputKey(key)] = try sliced(stored, role: role, key: key, kept: kept, geometry: geometry, target: target, path: file.path)
            }
            report.slicedModules += 1
        }
        for key in file.keys { report.elementsBefore += file.info(key)!.count }
        report.elementsAfter = tensors.values.reduce(0) { $0 + $1.count }
        return Result(tensors: tensors, metadata: file.metadata, report: report)
    }

    /// What whole-block pruning does to a module.
    enum BlockMove: Equatable {
        case unchanged
        case dropped
        case renamed(String)
    }

    /// Whether `module`'s block was removed (every part gone) or moved (its new name, verified through `resolver`).
    static func blockMove(
        module: LoRAInventory.Module, target: LoRATarget, resolver: any LoRAModuleResolver, surgery: ParameterSurgery, path: String
    ) throws(LoRAError) -> BlockMove {
        guard !surgery.droppedTensors.isEmpty || !surgery.blockRenames.isEmpty else { return .unchanged }
        let anyKey = module.allKeys.first ?? module.name
        let pruned = target.parts.map { surgery.prunedKey($0 + ".weight") }
        if pruned.allSatisfy({ $0 == nil }) { return .dropped }
        guard pruned.allSatisfy({ $0 != nil }) else {
            throw .unsupportedSlice(path: path, key: anyKey, reason: "\(target) spans a removed and a kept block")
        }
        let newParts = pruned.map { String($0!.dropLast(".weight".count)) }
        guard newParts != target.parts else { return .unchanged }
        let expected = LoRATarget(parts: newParts, swapsHalves: target.swapsHalves)
        // The old and new block index of the first part, e.g. transformer_blocks.3. → transformer_blocks.2.
        guard let (old, new) = blockIndices(from: target.parts[0], to: newParts[0]) else {
            throw .unsupportedSlice(path: path, key: anyKey, reason: "cannot tell which block \(target) is in")
        }
        // Every number token of the name equal to the old index is a candidate; the one that resolves is the block's.
        let tokens = module.name.split(omittingEmptySubsequences: false) { $0 == "." || $0 == "_" }
        var candidates: [String] = []
        var position = module.name.startIndex
        for token in tokens {
            let end = module.name.index(position, offsetBy: token.count)
            if token == Substring(String(old)) {
                let renamed = String(module.name[..<position]) + String(new) + String(module.name[end...])
                if case .denoiser(let found) = resolver.resolve(renamed), found == expected { candidates.append(renamed) }
            }
            position = end < module.name.endIndex ? module.name.index(after: end) : end
        }
        guard candidates.count == 1 else {
            throw .unsupportedSlice(
                path: path, key: anyKey,
                reason: "its block moved to \(expected), and \(candidates.isEmpty ? "no" : "more than one") renumbering of \(module.name) names it")
        }
        return .renamed(candidates[0])
    }

    /// The block index that differs between `old` and `new` (keys equal but for one number).
    static func blockIndices(from old: String, to new: String) -> (Int, Int)? {
        let a = old.split(separator: "."), b = new.split(separator: ".")
        guard a.count == b.count else { return nil }
        for (x, y) in zip(a, b) where x != y {
            guard let from = Int(x), let to = Int(y) else { return nil }
            return (from, to)
        }
        return nil
    }

    /// The kept rows of the stacked weight and its kept columns; `nil` where nothing is removed.
    static func keptIndices(
        module: LoRAInventory.Module, target: LoRATarget, geometry: LoRAModuleGeometry, surgery: ParameterSurgery, path: String
    ) throws(LoRAError) -> (rows: [Int]?, columns: [Int]?) {
        let anyKey = module.allKeys.first ?? module.name
        var rows: [Int] = []
        var rowsCut = false
        var columns: [Int]?
        var offset = 0
        for (part, count) in zip(target.parts, geometry.partRows) {
            let axes = surgery.keptIndices[part + ".weight"] ?? [:]
            let partRows = axes[0] ?? Array(0..<count)
            if partRows.count < count { rowsCut = true }
            rows += partRows.map { $0 + offset }
            offset += count
            let partColumns = axes[1] ?? Array(0..<geometry.inputShape[0])
            if let columns, columns != partColumns {
                throw .unsupportedSlice(path: path, key: anyKey, reason: "the parts of \(target) lose different inputs")
            }
            columns = partColumns
        }
        if rowsCut, target.swapsHalves {
            throw .unsupportedSlice(path: path, key: anyKey, reason: "\(target) stores its rows in another order and loses some of them")
        }
        let keptColumns = columns!
        return (rowsCut ? rows : nil, keptColumns.count < geometry.inputShape[0] ? keptColumns : nil)
    }

    /// One tensor cut to the kept rows and columns.
    static func sliced(
        _ stored: StoredTensor, role: LoRARole, key: String, kept: (rows: [Int]?, columns: [Int]?), geometry: LoRAModuleGeometry,
        target: LoRATarget, path: String
    ) throws(LoRAError) -> StoredTensor {
        switch role {
        case .down:
            return kept.columns.map { stored.selecting($0, axis: 1) } ?? stored
        case .up, .upBias, .diffBias:
            return kept.rows.map { stored.selecting($0, axis: 0) } ?? stored
        case .diff:
            let rows = kept.rows.map { stored.selecting($0, axis: 0) } ?? stored
            return kept.columns.map { rows.selecting($0, axis: 1) } ?? rows
        case .alpha, .mid:
            return stored
        case .magnitude:
            if geometry.magnitudePerOutput {
                if kept.columns != nil { throw .magnitudeOverRemovedUnits(path: path, key: key, module: target.description, removed: "inputs") }
                return kept.rows.map { stored.selecting($0, axis: 0) } ?? stored
            }
            if kept.rows != nil { throw .magnitudeOverRemovedUnits(path: path, key: key, module: target.description, removed: "outputs") }
            return kept.columns.map { stored.selecting($0, axis: 1) } ?? stored
        case .otherAlgorithm(let algorithm):
            throw .unsliceableAlgorithm(path: path, key: key, algorithm: algorithm, module: target.description)
        }
    }
}
