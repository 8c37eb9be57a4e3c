import CPrunePlugin
import PruneTensor
import Synchronization

/// The host tensors plugins hold, by handle. A `prune_tensor` is an issued number, never a pointer into
/// host memory, so a released or forged handle is rejected (`PRUNE_ERR_INVALID_HANDLE`) rather than
/// dereferenced. Each issued handle keeps its tensor alive until the plugin releases it.
public final class TensorHandles: Sendable {
    /// The table every plugin of the process shares.
    public static let shared = TensorHandles()

    private struct State {
        var tensors: [UInt: Tensor] = [:]
        var next: UInt = 1
    }
    private let state = Mutex(State())
    /// Handles are `base + 16·n`: far from small integers and NULL, and 16-aligned like real pointers.
    private static let base: UInt = 0x7E57_0000_0000

    /// Number of handles issued and not yet released (for leak checks).
    public var liveCount: Int { state.withLock { $0.tensors.count } }

    /// A new owned handle for `tensor`.
    func issue(_ tensor: Tensor) -> prune_tensor {
        let number = state.withLock { state -> UInt in
            let number = state.next
            state.next += 1
            state.tensors[number] = tensor
            return number
        }
        return OpaquePointer(bitPattern: Self.base + number * 16)!
    }

    /// The tensor behind `handle`.
    /// - Throws: ``ServiceFailure`` with `PRUNE_ERR_INVALID_HANDLE` naming `name`.
    func tensor(_ handle: prune_tensor, name: String) throws -> Tensor {
        guard let tensor = state.withLock({ $0.tensors[Self.number(of: handle) ?? 0] }) else {
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
        guard let tensor = state.withLock({ $0.tensors.removeValue(forKey: Self.number(of: handle) ?? 0) }) else {
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
