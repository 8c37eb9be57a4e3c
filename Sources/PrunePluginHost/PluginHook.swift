import CFFI
import Foundation

/// An optional plugin entry point, resolved and prepared once: its symbol's address and a libffi call
/// interface built from its validated ``HookSignature``. Calls go through `ffi_call`, so the host needs no
/// compiled-in function type per hook.
///
/// Prepared hooks live as long as the process (plugins are never unloaded), so their type tables do too.
public final class PluginHook: @unchecked Sendable {
    /// What the host uses it for (``HookRole`` raw value, or a role this host does not know).
    public let role: String
    public let symbol: String
    public let signature: HookSignature
    /// Whether this host calls it (roles it does not know are only listed).
    public var isKnownRole: Bool { HookRole(rawValue: role) != nil }

    private let function: UnsafeMutableRawPointer
    private let interface: UnsafeMutablePointer<ffi_cif>
    private let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    private let lock = NSLock()

    /// A value passed to or returned from a hook.
    public enum Value: Equatable, Sendable {
        case void
        case int(Int64)
        case unsigned(UInt64)
        case float(Double)
        case pointer(UInt)
        case string(String?)
    }

    /// Validates `signature` (and, for a known role, that it is the role's) and prepares the call.
    /// - Throws: ``PluginError/rejectedSignature(path:role:symbol:signature:reason:)``.
    init(role: String, symbol: String, signature text: String, function: UnsafeMutableRawPointer, path: String) throws(PluginError) {
        let parsed: HookSignature
        do { parsed = try HookSignature(parsing: text) } catch {
            throw .rejectedSignature(path: path, role: role, symbol: symbol, signature: text, reason: error.description)
        }
        if let known = HookRole(rawValue: role), known.signature != parsed {
            throw .rejectedSignature(
                path: path, role: role, symbol: symbol, signature: text,
                reason: "role '\(role)' is called as \(known.signature)")
        }
        self.role = role
        self.symbol = symbol
        self.signature = parsed
        self.function = function
        interface = .allocate(capacity: 1)
        argumentTypes = .allocate(capacity: max(parsed.argumentTypes.count, 1))
        for (index, type) in parsed.argumentTypes.enumerated() { argumentTypes[index] = Self.ffiType(type) }
        let status = ffi_prep_cif(
            interface, FFI_DEFAULT_ABI, UInt32(parsed.argumentTypes.count), Self.ffiType(parsed.returnType), argumentTypes)
        guard status == FFI_OK else {
            throw .rejectedSignature(path: path, role: role, symbol: symbol, signature: text, reason: "libffi cannot prepare it (status \(status.rawValue))")
        }
    }

    /// libffi's type descriptor for `type`.
    private static func ffiType(_ type: HookSignature.ValueType) -> UnsafeMutablePointer<ffi_type> {
        switch type {
        case .void: cffi_type_void()
        case .int32: cffi_type_sint32()
        case .uint32: cffi_type_uint32()
        case .int64: cffi_type_sint64()
        case .uint64: cffi_type_uint64()
        case .float32: cffi_type_float()
        case .float64: cffi_type_double()
        case .pointer, .string: cffi_type_pointer()
        }
    }

    /// Calls the hook with `arguments`, which must match ``signature`` one to one.
    /// - Throws: ``HookCallError/argumentMismatch(expected:got:)`` when they do not.
    public func call(_ arguments: [Value]) throws(HookCallError) -> Value {
        guard arguments.count == signature.argumentTypes.count else {
            throw .argumentMismatch(expected: signature.description, got: arguments.count)
        }
        // Every argument gets an 8-byte slot (strings are copied to C and freed after the call).
        let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: max(arguments.count, 1))
        let pointers = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(arguments.count, 1))
        var strings: [UnsafeMutablePointer<CChar>] = []
        defer {
            slots.deallocate()
            pointers.deallocate()
            for string in strings { free(string) }
        }
        for (index, (type, value)) in zip(signature.argumentTypes, arguments).enumerated() {
            let slot = UnsafeMutableRawPointer(slots + index)
            switch (type, value) {
            case (.int32, .int(let v)): slot.storeBytes(of: Int32(truncatingIfNeeded: v), as: Int32.self)
            case (.uint32, .unsigned(let v)): slot.storeBytes(of: UInt32(truncatingIfNeeded: v), as: UInt32.self)
            case (.int64, .int(let v)): slot.storeBytes(of: v, as: Int64.self)
            case (.uint64, .unsigned(let v)): slot.storeBytes(of: v, as: UInt64.self)
            case (.float32, .float(let v)): slot.storeBytes(of: Float(v), as: Float.self)
            case (.float64, .float(let v)): slot.storeBytes(of: v, as: Double.self)
            case (.pointer, .pointer(let v)): slot.storeBytes(of: v, as: UInt.self)
            case (.string, .string(let v)):
                var address: UInt = 0
                if let v, let copy = strdup(v) {
                    strings.append(copy)
                    address = UInt(bitPattern: copy)
                }
                slot.storeBytes(of: address, as: UInt.self)
            default: throw .argumentMismatch(expected: signature.description, got: index)
            }
            pointers[index] = slot
        }
        var result: UInt64 = 0  // ≥ sizeof(ffi_arg): libffi widens small integer returns into it
        lock.lock()
        withUnsafeMutablePointer(to: &result) { resultPointer in
            ffi_call(interface, unsafeBitCast(function, to: (@convention(c) () -> Void).self), resultPointer, pointers)
        }
        lock.unlock()
        switch signature.returnType {
        case .void: return .void
        case .int32: return .int(Int64(Int32(truncatingIfNeeded: result)))
        case .uint32: return .unsigned(UInt64(UInt32(truncatingIfNeeded: result)))
        case .int64: return .int(Int64(bitPattern: result))
        case .uint64: return .unsigned(result)
        case .float32: return .float(Double(Float(bitPattern: UInt32(truncatingIfNeeded: result))))
        case .float64: return .float(Double(bitPattern: result))
        case .pointer: return .pointer(UInt(result))
        case .string:
            guard let pointer = UnsafePointer<CChar>(bitPattern: UInt(result)) else { return .string(nil) }
            return .string(String(cString: pointer))
        }
    }
}

/// A hook called with arguments that do not fit its signature.
public enum HookCallError: Error, Sendable, Equatable, CustomStringConvertible {
    case argumentMismatch(expected: String, got: Int)
    public var description: String {
        switch self {
        case .argumentMismatch(let expected, let got): "hook of signature \(expected) called with mismatching argument \(got)"
        }
    }
}
