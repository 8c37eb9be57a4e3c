import Foundation
import PruneKit
import PrunePluginHost
import Testing

/// Every way a plugin can fail to load gives its own typed error naming the file and both values; each
/// case is a deliberately broken plugin the test builds (`BrokenPlugins/broken_plugin.c`).
@Suite struct BrokenPluginTests {
    /// Loads `path` and returns the error it must throw.
    static func loadError(_ path: String) -> PluginError? {
        do {
            _ = try PluginLoader.load(path: path)
            return nil
        } catch { return error }
    }

    @Test("a missing file is reported as not found")
    func missingFile() {
        let path = "/nonexistent/libnothing.so"
        #expect(Self.loadError(path) == .fileNotFound(path: path))
    }

    @Test("a text file and an object file are not shared objects")
    func notSharedObject() throws {
        let directory = try PluginTestSupport.temporaryDirectory("not-so")
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = directory.appendingPathComponent("libtext.so").path
        try "not a plugin".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(Self.loadError(text) == .notSharedObject(path: text, reason: "no ELF header"))

        let object = directory.appendingPathComponent("libobject.so").path
        let compiler = try PluginTestSupport.tool(["clang", "cc", "gcc"])
        let (status, output) = try PluginTestSupport.run(
            compiler, ["-c", "-fPIC", "-I", PluginTestSupport.includeDirectory,
                       PluginTestSupport.repository.appendingPathComponent("Tests/PrunePluginTests/BrokenPlugins/broken_plugin.c").path, "-o", object])
        #expect(status == 0, "\(output)")
        #expect(Self.loadError(object) == .notSharedObject(path: object, reason: "an object file (link it with -shared)"))
    }

    @Test("a shared object for another machine names both machines")
    func wrongArchitecture() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try PluginTestSupport.brokenPlugin(nil))))
        #if arch(arm64)
            (bytes[18], bytes[19]) = (62, 0)  // x86-64
            let found = "x86-64", expected = "AArch64"
        #else
            (bytes[18], bytes[19]) = (183, 0)  // AArch64
            let found = "AArch64", expected = "x86-64"
        #endif
        let directory = try PluginTestSupport.temporaryDirectory("foreign")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("libforeign.so").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = Self.loadError(path)
        #expect(error == .wrongArchitecture(path: path, found: found, expected: expected))
        #expect(error?.description.contains("built for \(found), but this host is \(expected)") == true)
    }

    @Test("a shared object without the entry symbol is refused by name")
    func missingEntrySymbol() throws {
        let path = try PluginTestSupport.brokenPlugin("BREAK_NO_ENTRY")
        #expect(Self.loadError(path) == .missingEntrySymbol(path: path, symbol: "prune_plugin_entry"))
    }

    @Test("an ABI mismatch names the plugin's and the host's versions")
    func abiMismatch() throws {
        let path = try PluginTestSupport.brokenPlugin("BREAK_ABI")
        let error = Self.loadError(path)
        #expect(error == .abiMismatch(path: path, plugin: 99, host: 1))
        #expect(error?.description.contains("plugin ABI 99, but this host speaks ABI 1") == true)
    }

    @Test("a descriptor or vtable smaller than ABI 1's names both sizes")
    func structTooSmall() throws {
        let descriptorPath = try PluginTestSupport.brokenPlugin("BREAK_SMALL")
        guard case .structTooSmall(let path, let structure, let size, let minimum, let abi)? = Self.loadError(descriptorPath) else {
            Issue.record("expected structTooSmall, got \(String(describing: Self.loadError(descriptorPath)))")
            return
        }
        #expect(path == descriptorPath && structure == "prune_plugin_descriptor" && size == 8 && minimum > 8 && abi == 1)

        let criterionPath = try PluginTestSupport.brokenPlugin("BREAK_SMALL_CRITERION")
        guard case .structTooSmall(_, let name, let criterionSize, let criterionMinimum, _)? = Self.loadError(criterionPath) else {
            Issue.record("expected structTooSmall for the criterion")
            return
        }
        #expect(name == "prune_criterion" && criterionSize == 12 && criterionMinimum > 12)
    }

    @Test("a plugin whose initialize fails reports its status and its own error text")
    func initializationFails() throws {
        let path = try PluginTestSupport.brokenPlugin("BREAK_INIT_FAILS")
        let error = Self.loadError(path)
        #expect(error == .pluginFailed(plugin: "broken", function: "initialize", status: -3, message: "the broken plugin refuses to initialise"))
        #expect(error?.description.contains("status -3 (internal error)") == true)
    }

    @Test("a hook signature that differs from its role, or does not parse, is rejected before any call")
    func rejectedSignatures() throws {
        let mismatched = try PluginTestSupport.brokenPlugin("BREAK_BAD_SIGNATURE")
        #expect(
            Self.loadError(mismatched)
                == .rejectedSignature(
                    path: mismatched, role: "configure", symbol: "broken_configure", signature: "f64(str)",
                    reason: "role 'configure' is called as i32(str,str)"))
        let unparsable = try PluginTestSupport.brokenPlugin("BREAK_UNPARSABLE")
        guard case .rejectedSignature(_, _, _, let signature, let reason)? = Self.loadError(unparsable) else {
            Issue.record("expected rejectedSignature")
            return
        }
        #expect(signature == "i32(str,long double)")
        #expect(reason.contains("unknown type 'longdouble'"))
    }

    @Test("a hook naming a symbol the plugin does not export is refused")
    func missingHookSymbol() throws {
        let path = try PluginTestSupport.brokenPlugin("BREAK_HOOK_SYMBOL")
        #expect(Self.loadError(path) == .missingHookSymbol(path: path, role: "configure", symbol: "no_such_function"))
    }

    @Test("a criterion whose score fails surfaces the plugin's message as a typed error")
    func scoreFails() throws {
        let plugin = try PluginLoader.load(path: try PluginTestSupport.brokenPlugin("BREAK_SCORE_FAILS"))
        let groups = [UnitGroup(moduleKey: "m", kind: .feedForwardNeuron, unitCount: 3, slices: [])]
        #expect(throws: PluginError.pluginFailed(
            plugin: "broken", function: "criterion constant: score", status: -2, message: "the broken criterion refuses to score"))
        {
            _ = try plugin.criteria[0].scores(in: ScoringContext(groups: groups, parameters: [:]))
        }
    }

    @Test("the valid variant of the test plugin loads and scores through the C ABI")
    func validVariantLoads() throws {
        let plugin = try PluginLoader.load(path: try PluginTestSupport.brokenPlugin(nil))
        #expect(plugin.name == "broken" && plugin.version == "0.0.1" && plugin.kindNames == ["criterion"] && plugin.abiVersion == 1)
        let groups = [
            UnitGroup(moduleKey: "a", kind: .attentionHead, unitCount: 2, slices: []),
            UnitGroup(moduleKey: "b", kind: .feedForwardNeuron, unitCount: 3, slices: []),
        ]
        let scores = try plugin.criteria[0].scores(in: ScoringContext(groups: groups, parameters: [:]))
        #expect(scores["a"] == [0, 1] && scores["b"] == [0, 1, 2])
        try plugin.configure(key: "anything", value: "1")  // through libffi
    }
}
