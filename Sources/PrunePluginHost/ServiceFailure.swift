import CPrunePlugin
import Foundation
import PruneTensor

/// A host service call that fails: the status returned to the plugin and the text its
/// `host->last_error()` then reports on that thread.
struct ServiceFailure: Error {
    let status: prune_status
    let message: String

    static func invalidArgument(_ message: String) -> ServiceFailure { ServiceFailure(status: PRUNE_ERR_INVALID_ARGUMENT, message: message) }
    static func shape(_ message: String) -> ServiceFailure { ServiceFailure(status: PRUNE_ERR_SHAPE, message: message) }
    static func notFound(_ message: String) -> ServiceFailure { ServiceFailure(status: PRUNE_ERR_NOT_FOUND, message: message) }
    static func invalidHandle(_ message: String) -> ServiceFailure { ServiceFailure(status: PRUNE_ERR_INVALID_HANDLE, message: message) }
}

/// Per-thread error text for `host->last_error()`: a `strdup`ed copy that stays valid until the next
/// failing service call on the same thread.
enum ThreadErrorText {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()
    nonisolated(unsafe) private static let empty: UnsafePointer<CChar> = UnsafePointer(strdup("")!)

    static func set(_ message: String) {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, strdup(message))
        free(previous)
    }

    static var current: UnsafePointer<CChar> {
        guard let pointer = pthread_getspecific(key) else { return empty }
        return UnsafePointer(pointer.assumingMemoryBound(to: CChar.self))
    }
}

/// Helpers every service uses to turn Swift failures into status codes: nothing thrown or trapped crosses
/// the boundary.
enum Service {
    /// Runs `body`; a ``ServiceFailure`` becomes its status, any other error `PRUNE_ERR_INTERNAL`.
    static func run(_ body: () throws -> Void) -> prune_status {
        do {
            try body()
            return PRUNE_OK
        } catch let failure as ServiceFailure {
            ThreadErrorText.set(failure.message)
            return failure.status
        } catch {
            ThreadErrorText.set("\(error)")
            return PRUNE_ERR_INTERNAL
        }
    }

    /// Runs `body` and hands its tensor to the plugin as a new owned handle in `*out`.
    static func produce(_ out: UnsafeMutablePointer<prune_tensor?>?, _ body: () throws -> Tensor) -> prune_status {
        guard let out else {
            ThreadErrorText.set("the output handle pointer is NULL")
            return PRUNE_ERR_INVALID_ARGUMENT
        }
        out.pointee = nil
        return run { out.pointee = TensorHandles.shared.issue(try body()) }
    }

    /// The tensor behind a handle that must be present.
    static func tensor(_ handle: prune_tensor?, _ name: String) throws -> Tensor {
        guard let handle else { throw ServiceFailure.invalidHandle("\(name) is NULL") }
        return try TensorHandles.shared.tensor(handle, name: name)
    }

    /// The tensor behind an optional handle.
    static func optionalTensor(_ handle: prune_tensor?, _ name: String) throws -> Tensor? {
        guard let handle else { return nil }
        return try TensorHandles.shared.tensor(handle, name: name)
    }

    /// A shape from a C array: rank 0 … PRUNE_MAX_RANK, extents ≥ 0 (`allowWildcard`: one −1).
    static func shape(_ pointer: UnsafePointer<Int64>?, _ rank: Int32, allowWildcard: Bool = false) throws -> [Int] {
        guard rank >= 0, rank <= PRUNE_MAX_RANK else { throw ServiceFailure.invalidArgument("rank \(rank) is outside 0…\(PRUNE_MAX_RANK)") }
        if rank == 0 { return [] }
        guard let pointer else { throw ServiceFailure.invalidArgument("shape is NULL for rank \(rank)") }
        let shape = (0..<Int(rank)).map { Int(pointer[$0]) }
        let wildcards = shape.filter { $0 == -1 }.count
        guard shape.allSatisfy({ $0 >= 0 || (allowWildcard && $0 == -1) }), wildcards <= (allowWildcard ? 1 : 0) else {
            throw ServiceFailure.shape("invalid shape \(shape)")
        }
        var product = 1
        for extent in shape where extent > 0 {
            let (next, overflow) = product.multipliedReportingOverflow(by: extent)
            guard !overflow, next <= 1 << 40 else { throw ServiceFailure.shape("shape \(shape) is too large") }
            product = next
        }
        return shape
    }

    /// A NUL-terminated UTF-8 string argument that must be present.
    static func string(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String {
        guard let pointer else { throw ServiceFailure.invalidArgument("\(name) is NULL") }
        return String(cString: pointer)
    }

    /// `axis` (negative counts from the end) as an index into `rank` axes.
    static func axis(_ axis: Int32, rank: Int, _ what: String) throws -> Int {
        let resolved = axis < 0 ? Int(axis) + rank : Int(axis)
        guard resolved >= 0, resolved < rank else { throw ServiceFailure.shape("\(what): axis \(axis) is outside a rank-\(rank) tensor") }
        return resolved
    }
}
