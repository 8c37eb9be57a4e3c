import CPrunePlugin
import PruneTensor
import Synchronization

/// The host tensors plugins hold, by handle. A `prune_tensor` is an issued number, never a pointer into
/// host memory, so a released or forged handle is rejected (`PRUNE_ERR_INVALID_HANDLE`) rather than
/// dereferenced. Each issued handle keeps its tensor alive until the plugin releases it.
public final class TensorHandles: Sendable {
    /// The table every plugin of the process shares.
    public static let shared = TensorHandles()

    private struct Entry {
        var tensor: Tensor
        /// The ``tracking(_:)`` scope that was current when the handle was issued.
        var scope: UInt64?
    }
    private struct State {
        var tensors: [UInt: Entry] = [:]
        var next: UInt = 1
        var nextScope: UInt64 = 1
    }
    /// The leak-tracking scope of the current task (see ``tracking(_:)``).
    @TaskLocal private static var currentScope: UInt64?
    private let state = Mutex(State())
    /// Handles are `base + 16·n`: far from small integers and NULL, and 16-aligned like real pointers.
    private static let base: UInt = 0x7E57_0000_0000

    /// Number of handles issued and not yet released, by every plugin of the process.
    public var liveCount: Int { state.withLock { $0.tensors.count } }

    /// Runs `body` and counts the handles issued inside it (on this task) that are still live when it returns:
    /// a leak check that other work of the process, issuing and releasing handles concurrently, cannot disturb.
    public func tracking<Result>(_ body: () throws -> Result) rethrows -> (result: Result, leaked: Int) {
        let scope = state.withLock { state -> UInt64 in
            defer { state.nextScope += 1 }
            return state.nextScope
        }
        let result = try Self.$currentScope.withValue(scope) { try body() }
        let leaked = state.withLock { $0.tensors.values.count { $0.scope == scope } }
        return (result, leaked)
    }

    /// A new owned handle for `tensor`.
    func issue(_ tensor: Tensor) -> prune_tensor {
        let number = state.withLock { state -> UInt in
            let number = state.next
            state.next += 1
            state.tensors[number] = Entry(tensor: tensor, scope: Self.currentScope)
            return number
        }
        return OpaquePointer(bitPattern: Self.base + number * 16)!
    }

    /// The tensor behind `handle`.
    /// - Throws: ``ServiceFailure`` with `PRUNE_ERR_INVALID_HANDLE` naming `name`.
    func tensor(_ handle: prune_tensor, name: String) throws -> Tensor {
        guard let tensor = state.withLock({ $0.tensors[Self.number(of: handle) ?? 0]?.tensor }) else {
            throw ServiceFailure.invalidHandle("\(name) is not a live tensor handle (released, or never issued)")
        }
        return tensor
    }

    /// Gives `handle` back.
    /// - Throws: ``ServiceFailure`` with `PRUNE_ERR_INVALID_HANDLE` when it is not live.
    func release(_ handle: prune_tensor) throws {
        let removed = state.withLock { $0.tensors.removeValue(forKey: Self.number(of: handle) ?? 0) }
        guard removed != nil else { throw ServiceFailure.invalidHandle("released a handle that is not live (double release?)") }
    }

    /// The tensor behind `handle`, which the plugin hands over to the host (the handle is released).
    /// - Throws: ``ServiceFailure`` when it is not live.
    func take(_ handle: prune_tensor) throws -> Tensor {
        guard let tensor = state.withLock({ $0.tensors.removeValue(forKey: Self.number(of: handle) ?? 0)?.tensor }) else {
            throw PluginError.pluginFailed(plugin: "?", function: "output", status: PRUNE_ERR_INVALID_HANDLE, message: "returned a tensor handle that is not live")
        }
        return tensor
    }

    private static func number(of handle: prune_tensor) -> UInt? {
        let bits = UInt(bitPattern: handle)
        guard bits > base, (bits - base) % 16 == 0 else { return nil }
        return (bits - base) / 16
    }
}
