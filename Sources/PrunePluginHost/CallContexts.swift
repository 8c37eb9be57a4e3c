import CPrunePlugin
import Foundation
import PruneKit
import PruneNN
import PruneTensor

/// The host objects a plugin reaches through opaque pointers (`prune_model_builder *`,
/// `prune_forward_call *`, `prune_scoring_context *`), registered only while the call that hands them
/// out runs. A pointer that is not registered (stale, forged, or of another kind) is rejected.
final class ContextTable<Object: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private var live: [UInt: Object] = [:]
    private let kind: String

    init(kind: String) { self.kind = kind }

    /// Runs `body` with `object` registered under the opaque pointer it receives.
    func lending<Result>(_ object: Object, _ body: (OpaquePointer) throws -> Result) rethrows -> Result {
        let pointer = OpaquePointer(Unmanaged.passUnretained(object).toOpaque())
        let key = UInt(bitPattern: pointer)
        lock.withLock { live[key] = object }
        defer { lock.withLock { _ = live.removeValue(forKey: key) } }
        return try withExtendedLifetime(object) { try body(pointer) }
    }

    /// The object registered under `pointer`.
    /// - Throws: ``ServiceFailure`` (`PRUNE_ERR_INVALID_ARGUMENT`) when none is.
    func object(_ pointer: OpaquePointer?) throws -> Object {
        guard let pointer, let object = lock.withLock({ live[UInt(bitPattern: pointer)] }) else {
            throw ServiceFailure.invalidArgument("the \(kind) pointer is not valid here (it is only valid during the call that provided it)")
        }
        return object
    }
}

/// What `build_model` sees: the parameter store being filled (from a checkpoint or a seed), the model
/// configuration, and the unit groups being declared.
final class ModelBuilder {
    static let table = ContextTable<ModelBuilder>(kind: "model builder")

    let store: ParameterStore
    let checkpoint: (any TensorSource)?
    let configuration: [String: Any]
    var groups: [UnitGroup] = []
    /// For block lists whose depth the configuration holds: the configuration key, by list key
    /// (`builder_block_depth_key`).
    var blockDepthKeys: [String: String] = [:]

    init(store: ParameterStore, checkpoint: (any TensorSource)?, configuration: [String: Any]) {
        self.store = store
        self.checkpoint = checkpoint
        self.configuration = configuration
    }
}

/// What `forward`/`predict` sees: named inputs, unit masks by module key, the guidance scale.
final class ForwardCall {
    static let table = ContextTable<ForwardCall>(kind: "forward call")

    let inputs: [String: Tensor]
    let masks: UnitMasks
    let guidance: Float

    init(inputs: [String: Tensor], masks: UnitMasks, guidance: Float) {
        self.inputs = inputs
        self.masks = masks
        self.guidance = guidance
    }
}

/// What a plugin criterion's `score` sees: the host's ``ScoringContext`` and C copies of its module keys.
final class ScoringBridge {
    static let table = ContextTable<ScoringBridge>(kind: "scoring context")

    let context: ScoringContext
    /// The criterion's name, for progress reports.
    let criterion: String
    /// Module keys and slice keys as C strings, valid while the bridge lives.
    let moduleKeys: [UnsafeMutablePointer<CChar>]
    let sliceKeys: [[UnsafeMutablePointer<CChar>]]

    init(context: ScoringContext, criterion: String) {
        self.context = context
        self.criterion = criterion
        moduleKeys = context.groups.map { strdup($0.moduleKey)! }
        sliceKeys = context.groups.map { $0.slices.map { strdup($0.key)! } }
    }

    deinit {
        for key in moduleKeys { free(key) }
        for keys in sliceKeys { for key in keys { free(key) } }
    }

    func group(_ index: Int32) throws -> UnitGroup {
        guard index >= 0, Int(index) < context.groups.count else {
            throw ServiceFailure.invalidArgument("group \(index) is outside 0..<\(context.groups.count)")
        }
        return context.groups[Int(index)]
    }

    func sample(_ index: Int32) throws -> CalibrationSample<AnyDenoisingTrajectory> {
        guard index >= 0, Int(index) < context.calibration.count else {
            throw ServiceFailure.invalidArgument("calibration sample \(index) is outside 0..<\(context.calibration.count)")
        }
        return context.calibration[Int(index)]
    }
}
