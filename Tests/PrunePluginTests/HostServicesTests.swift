import CPrunePlugin
import Foundation
import PruneTensor
import PruneTestSupport
import Testing

@testable import PrunePluginHost

/// The services table as a plugin sees it, called directly: results equal PruneTensor's own operations,
/// and misuse (wrong shapes, axes, dead handles) comes back as a status with a message, never a trap.
@Suite(.serialized) struct HostServicesTests {
    let host = HostServices.table.pointee

    func handle(_ tensor: Tensor) -> prune_tensor { TensorHandles.shared.issue(tensor) }
    func take(_ handle: prune_tensor?) throws -> Tensor { try TensorHandles.shared.take(try #require(handle)) }
    var lastError: String { host.last_error().map { String(cString: $0) } ?? "" }

    @Test("leak tracking counts only the handles issued inside its scope and still live")
    func leakTrackingCountsOwnHandles() throws {
        let outside = handle(Tensor([1], shape: [1]))
        defer { _ = host.tensor_release(outside) }
        let (kept, leaked) = TensorHandles.shared.tracking { () -> prune_tensor in
            let released = handle(Tensor([2], shape: [1]))
            _ = host.tensor_release(released)
            return handle(Tensor([3], shape: [1]))
        }
        #expect(leaked == 1)
        #expect(host.tensor_release(kept) == PRUNE_OK)
        #expect(TensorHandles.shared.tracking { () }.leaked == 0)
    }

    @Test("operations through the table equal the engine's own")
    func operationsMatchEngine() throws {
        let x = Tensor.randomNormal([2, 4, 3, 3], seed: 1)
        let w = Tensor.randomNormal([4], seed: 2)
        let (hx, hw) = (handle(x), handle(w))
        defer { _ = host.tensor_release(hx); _ = host.tensor_release(hw) }
        var out: prune_tensor?
        #expect(host.group_norm(hx, 2, hw, nil, 1e-5, &out) == PRUNE_OK)
        #expect(maximumRelativeError(try take(out), groupNorm(x, groups: 2, weight: w)) == 0)
        #expect(host.softmax(hx, -1, &out) == PRUNE_OK)
        #expect(maximumRelativeError(try take(out), x.softmax(axis: 3)) == 0)
        let axes: [Int32] = [1, 3]
        #expect(host.reduce(hx, PRUNE_REDUCE_MEAN, axes, 2, 1, &out) == PRUNE_OK)
        #expect(maximumRelativeError(try take(out), x.mean(axes: [1, 3], keepingDimensions: true)) == 0)
        let parts: [prune_tensor?] = [hx, hx]
        #expect(host.concat(parts, 2, 1, &out) == PRUNE_OK)
        #expect(try take(out).shape == [2, 8, 3, 3])
        let rows = Tensor.randomNormal([5, 3], seed: 3)
        let hr = handle(rows)
        defer { _ = host.tensor_release(hr) }
        let weight = handle(Tensor.randomNormal([3], seed: 4))
        defer { _ = host.tensor_release(weight) }
        #expect(host.rms_norm(hr, weight, 1e-6, &out) == PRUNE_OK)
        #expect(try take(out).shape == [5, 3])
        let q = Tensor.randomNormal([1, 2, 4, 6], seed: 5)
        let cos = Tensor.randomNormal([4, 6], seed: 6), sin = Tensor.randomNormal([4, 6], seed: 7)
        let (hq, hc, hs) = (handle(q), handle(cos), handle(sin))
        defer { for h in [hq, hc, hs] { _ = host.tensor_release(h) } }
        #expect(host.rotary_embedding(hq, hc, hs, &out) == PRUNE_OK)
        #expect(maximumRelativeError(try take(out), applyRotaryEmbedding(q, cos: cos, sin: sin)) == 0)
        #expect(host.unary(hq, PRUNE_UNARY_SOFTPLUS, &out) == PRUNE_OK)
        #expect(maximumRelativeError(try take(out), q.softplus()) == 0)
    }

    @Test("misuse returns a status and a message naming the shapes; nothing traps")
    func misuseIsReported() throws {
        let a = handle(Tensor.zeros([2, 3]))
        let b = handle(Tensor.zeros([4, 5]))
        let image = handle(Tensor.zeros([1, 3, 4, 4]))
        defer { for h in [a, b, image] { _ = host.tensor_release(h) } }
        var out: prune_tensor?
        #expect(host.matmul(a, b, &out) == PRUNE_ERR_SHAPE && out == nil)
        #expect(lastError.contains("[2, 3] · [4, 5]"))
        #expect(host.binary(a, b, PRUNE_BINARY_ADD, &out) == PRUNE_ERR_SHAPE)
        #expect(lastError.contains("do not broadcast"))
        #expect(host.linear(a, b, nil, &out) == PRUNE_ERR_SHAPE)
        #expect(host.group_norm(image, 2, nil, nil, 1e-5, &out) == PRUNE_ERR_SHAPE)
        #expect(host.conv2d(image, b, nil, 1, 1, 0, 0, &out) == PRUNE_ERR_SHAPE)
        #expect(host.attention(a, a, a, 0, &out) == PRUNE_ERR_SHAPE)
        #expect(host.softmax(a, 2, &out) == PRUNE_ERR_SHAPE)
        #expect(host.slice(a, 1, 2, 5, &out) == PRUNE_ERR_SHAPE)
        let order: [Int32] = [0, 0]
        #expect(host.permute(a, order, 2, &out) == PRUNE_ERR_INVALID_ARGUMENT)
        let shape: [Int64] = [7]
        #expect(host.reshape(a, shape, 1, &out) == PRUNE_ERR_SHAPE)
        #expect(host.unary(a, 99, &out) == PRUNE_ERR_INVALID_ARGUMENT)
        #expect(host.mean_squared_error(a, b, &out) == PRUNE_ERR_SHAPE)
        #expect(host.backward(a) == PRUNE_ERR_SHAPE)
        #expect(host.call_input(nil, "sample", &out) == PRUNE_ERR_INVALID_ARGUMENT)
        #expect(lastError.contains("forward call pointer is not valid here"))
    }

    @Test("released and forged handles are rejected, not dereferenced")
    func deadHandles() throws {
        let live = handle(Tensor.ones([3]))
        #expect(host.tensor_release(live) == PRUNE_OK)
        #expect(host.tensor_release(live) == PRUNE_ERR_INVALID_HANDLE)
        var out: prune_tensor?
        #expect(host.unary(live, PRUNE_UNARY_EXP, &out) == PRUNE_ERR_INVALID_HANDLE)
        #expect(lastError.contains("not a live tensor handle"))
        let forged = OpaquePointer(bitPattern: 0x1234)!
        #expect(host.tensor_retain(forged, &out) == PRUNE_ERR_INVALID_HANDLE)
        #expect(host.unary(nil, PRUNE_UNARY_EXP, &out) == PRUNE_ERR_INVALID_HANDLE)
    }

    @Test("with_gradient_mode switches recording for the plugin's body")
    func gradientMode() throws {
        let leaf = Tensor.ones([2], requiresGradient: true)
        final class Box { var recorded: [Bool] = []; var leaf: Tensor; init(_ leaf: Tensor) { self.leaf = leaf } }
        let box = Box(leaf)
        let body: @convention(c) (UnsafeMutableRawPointer?) -> prune_status = { user in
            let box = Unmanaged<Box>.fromOpaque(user!).takeUnretainedValue()
            box.recorded.append((box.leaf * 2).op != nil)
            return PRUNE_OK
        }
        let pointer = Unmanaged.passUnretained(box).toOpaque()
        #expect(host.with_gradient_mode(0, body, pointer) == PRUNE_OK)
        #expect(host.with_gradient_mode(1, body, pointer) == PRUNE_OK)
        #expect(box.recorded == [false, true])
    }
}
