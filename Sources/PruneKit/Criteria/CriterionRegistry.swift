import Foundation

/// The pruning criteria known by name. ``shared`` starts with the five built-ins (`magnitude`, `random`,
/// `taylor`, `activation`, `ecodiff`); plugins and callers add more at run time with ``register(_:replacing:)``.
///
/// Thread-safe: registration and look-up take a lock.
public final class CriterionRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var criteria: [String: any PruningCriterion] = [:]
    private var order: [String] = []

    /// An empty registry.
    public init() {}

    /// A registry holding `criteria`, in that order.
    /// - Throws: ``CriterionError/duplicateCriterion(_:)`` when two share a name.
    public convenience init(_ criteria: [any PruningCriterion]) throws(CriterionError) {
        self.init()
        for criterion in criteria { try register(criterion) }
    }

    /// The five built-in criteria with their default settings.
    public static var builtIns: [any PruningCriterion] {
        [MagnitudeCriterion(), RandomCriterion(), TaylorCriterion(), ActivationCriterion(), EcoDiffCriterion()]
    }

    /// A new registry holding the built-ins.
    public static func withBuiltIns() -> CriterionRegistry {
        let registry = CriterionRegistry()
        for criterion in builtIns { try! registry.register(criterion) }
        return registry
    }

    /// The process-wide registry (built-ins plus whatever has been registered since).
    public static let shared = CriterionRegistry.withBuiltIns()

    /// The registry commands look criteria up in: ``shared`` unless the current task scopes another
    /// (`CriterionRegistry.$current.withValue(registry) { … }`, e.g. a test's criteria without touching ``shared``).
    @TaskLocal public static var current: CriterionRegistry = .shared

    /// Adds `criterion` under its name.
    /// - Parameter replacing: replace an existing criterion of the same name instead of throwing.
    /// - Throws: ``CriterionError/duplicateCriterion(_:)``.
    public func register(_ criterion: any PruningCriterion, replacing: Bool = false) throws(CriterionError) {
        lock.lock()
        defer { lock.unlock() }
        if criteria[criterion.name] != nil {
            guard replacing else { throw .duplicateCriterion(criterion.name) }
        } else {
            order.append(criterion.name)
        }
        criteria[criterion.name] = criterion
    }

    /// Registered names, in registration order.
    public var names: [String] {
        lock.lock()
        defer { lock.unlock() }
        return order
    }

    /// Every registered criterion, in registration order.
    public var all: [any PruningCriterion] {
        lock.lock()
        defer { lock.unlock() }
        return order.map { criteria[$0]! }
    }

    /// The criterion registered under `name`.
    /// - Throws: ``CriterionError/unknownCriterion(name:known:)`` listing the registered names.
    public func criterion(named name: String) throws(CriterionError) -> any PruningCriterion {
        lock.lock()
        defer { lock.unlock() }
        guard let criterion = criteria[name] else { throw .unknownCriterion(name: name, known: order) }
        return criterion
    }
}
