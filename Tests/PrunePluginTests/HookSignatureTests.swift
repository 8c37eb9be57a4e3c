import PrunePluginHost
import Testing

/// The signature grammar of optional entry points.
@Suite struct HookSignatureTests {
    @Test("signatures parse into return and argument types, spaces allowed")
    func parses() throws {
        let signature = try HookSignature(parsing: " i32 ( str , ptr,f64 ) ")
        #expect(signature.returnType == .int32)
        #expect(signature.argumentTypes == [.string, .pointer, .float64])
        #expect(signature.description == "i32(str,ptr,f64)")
        #expect(try HookSignature(parsing: "v()").argumentTypes.isEmpty)
        #expect(try HookSignature(parsing: "str(v)").argumentTypes.isEmpty)
    }

    @Test("malformed signatures and unknown types are rejected with what is wrong", arguments: [
        ("i32", "malformed signature (expected RET(ARG,…))"),
        ("i32(str,)", "malformed signature (an empty argument type)"),
        ("i32(v,str)", "malformed signature (void is only a return type)"),
        ("int(str)", "unknown type 'int' (known: v, i32, u32, i64, u64, f32, f64, ptr, str)"),
        ("i32(str))", "malformed signature (expected RET(ARG,…))"),
    ])
    func rejects(_ text: String, _ message: String) {
        #expect(throws: (any Error).self) { try HookSignature(parsing: text) }
        do { _ = try HookSignature(parsing: text) } catch { #expect(error.description == message) }
    }

    @Test("each known role has one signature")
    func roles() {
        #expect(HookRole.configure.signature.description == "i32(str,str)")
        #expect(HookRole.about.signature.description == "str()")
        #expect(HookRole.selfTest.signature.description == "i32()")
    }
}
