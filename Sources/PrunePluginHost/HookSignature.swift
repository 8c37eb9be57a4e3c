/// A C function type written as the plugin ABI's signature strings: `RET(ARG,ARG,…)`, with types
/// `v` (void, return only), `i32`, `u32`, `i64`, `u64`, `f32`, `f64`, `ptr` and `str` (`const char *`).
///
/// ```swift
/// let signature = try HookSignature(parsing: "i32(str,str)")   // prune_status f(const char *, const char *)
/// ```
public struct HookSignature: Sendable, Equatable, CustomStringConvertible {
    /// One C type of the grammar.
    public enum ValueType: String, Sendable, CaseIterable {
        case void = "v", int32 = "i32", uint32 = "u32", int64 = "i64", uint64 = "u64"
        case float32 = "f32", float64 = "f64", pointer = "ptr", string = "str"
    }

    public var returnType: ValueType
    public var argumentTypes: [ValueType]

    public init(returnType: ValueType, argumentTypes: [ValueType]) {
        self.returnType = returnType
        self.argumentTypes = argumentTypes
    }

    /// Parses `text` (spaces allowed around tokens; `()` or `(v)` for no arguments).
    /// - Throws: ``HookSignatureError`` saying what is malformed.
    public init(parsing text: String) throws(HookSignatureError) {
        let compact = text.filter { !$0.isWhitespace }
        guard let open = compact.firstIndex(of: "("), compact.last == ")",
            compact.firstIndex(of: ")") == compact.index(before: compact.endIndex)
        else { throw .malformed("expected RET(ARG,…)") }
        let returnToken = String(compact[..<open])
        guard let returnType = ValueType(rawValue: returnToken) else { throw .unknownType(returnToken) }
        let inner = compact[compact.index(after: open)..<compact.index(before: compact.endIndex)]
        var arguments: [ValueType] = []
        if !inner.isEmpty, inner != "v" {
            for token in inner.split(separator: ",", omittingEmptySubsequences: false) {
                guard !token.isEmpty else { throw .malformed("an empty argument type") }
                guard let type = ValueType(rawValue: String(token)) else { throw .unknownType(String(token)) }
                guard type != .void else { throw .malformed("void is only a return type") }
                arguments.append(type)
            }
        }
        guard arguments.count <= 16 else { throw .malformed("more than 16 arguments") }
        self.init(returnType: returnType, argumentTypes: arguments)
    }

    public var description: String {
        "\(returnType.rawValue)(\(argumentTypes.map(\.rawValue).joined(separator: ",")))"
    }
}

/// What is wrong with a signature string.
public enum HookSignatureError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case unknownType(String)

    public var description: String {
        switch self {
        case .malformed(let reason): "malformed signature (\(reason))"
        case .unknownType(let token):
            "unknown type '\(token)' (known: \(HookSignature.ValueType.allCases.map(\.rawValue).joined(separator: ", ")))"
        }
    }
}

/// The optional entry points the host knows how to use, each with the one signature it calls.
public enum HookRole: String, Sendable, CaseIterable {
    /// `prune_status configure(const char *key, const char *value)`: one `--plugin-option`.
    case configure
    /// `const char *about(void)`: extra text for `prunekit plugins list`.
    case about
    /// `prune_status self_test(void)`: run by `prunekit plugins list --check`.
    case selfTest = "self-test"

    /// The signature the host calls this role with.
    public var signature: HookSignature {
        switch self {
        case .configure: HookSignature(returnType: .int32, argumentTypes: [.string, .string])
        case .about: HookSignature(returnType: .string, argumentTypes: [])
        case .selfTest: HookSignature(returnType: .int32, argumentTypes: [])
        }
    }
}
