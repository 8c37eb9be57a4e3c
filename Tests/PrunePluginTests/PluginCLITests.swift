import Foundation
import Testing

/// `prunekit` with plugins, run as a user runs it: the built executable in a child process.
@Suite struct PluginCLITests {
    static func prunekit(_ arguments: [String], environment: [String: String] = ["PRUNEKIT_PLUGIN_PATH": ""]) throws -> (status: Int32, output: String) {
        try PluginTestSupport.run(try PluginTestSupport.builtProduct("prunekit"), arguments, environment: environment)
    }

    static func product(_ name: String) throws -> String { try PluginTestSupport.builtProduct(name) }

    @Test("plugins list shows each plugin's name, version, kind, ABI and what it provides, and runs self-tests")
    func listsPlugins() throws {
        let (status, output) = try Self.prunekit([
            "plugins", "list", "--check", "--plugin", try Self.product("libGradientFlow.so"), "--plugin", try Self.product("libFPGM.so"),
            "--plugin", try Self.product("libDiT.so"),
        ])
        #expect(status == 0, "\(output)")
        #expect(output.contains("gradient-flow 1.0.0  kind: criterion  ABI 1"))
        #expect(output.contains("fpgm 1.0.0  kind: criterion  ABI 1"))
        #expect(output.contains("dit 1.0.0  kind: architecture  ABI 1"))
        #expect(output.contains("architecture dit (classes DiT; presets dit-test, dit-s-2, dit-xl-2)"))
        #expect(output.contains("about: pure C (C11)"))
        #expect(output.contains("self-test: passed"))
    }

    @Test("plugins list says why a plugin did not load, and exits non-zero only when a named one failed")
    func listsFailures() throws {
        var (status, output) = try Self.prunekit(["plugins", "list", "--plugin", "/nonexistent/libgone.so"])
        #expect(status != 0)
        #expect(output.contains("FAILED /nonexistent/libgone.so: plugin /nonexistent/libgone.so: file not found"))

        let directory = try PluginTestSupport.temporaryDirectory("search")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(atPath: try PluginTestSupport.brokenPlugin("BREAK_ABI"), toPath: directory.appendingPathComponent("libold.so").path)
        try FileManager.default.copyItem(atPath: try Self.product("libFPGM.so"), toPath: directory.appendingPathComponent("libFPGM.so").path)
        (status, output) = try Self.prunekit(["plugins", "list"], environment: ["PRUNEKIT_PLUGIN_PATH": directory.path])
        #expect(status == 0, "a broken plugin found on the search path is reported, not fatal: \(output)")
        #expect(output.contains("fpgm 1.0.0"))
        #expect(output.contains("libold.so: built for plugin ABI 99, but this host speaks ABI 1"))
        (status, output) = try Self.prunekit(["plugins", "list", "--plugin", "libold.so"], environment: ["PRUNEKIT_PLUGIN_PATH": directory.path])
        #expect(status != 0, "named on the command line (found on the search path), it fails the command")
    }

    @Test("plugin criteria are used by name like built-ins; options reach the plugin; unknown names fail clearly")
    func pruneWithPluginCriterion() throws {
        let flow = try Self.product("libGradientFlow.so")
        var (status, output) = try Self.prunekit(["criteria", "--plugin", flow])
        #expect(status == 0 && output.contains("gradient-flow"))
        (status, output) = try Self.prunekit(["criteria"])
        #expect(!output.contains("gradient-flow"))

        let temporary = try PluginTestSupport.temporaryDirectory("flow")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let out = temporary.appendingPathComponent("pruned").path
        (status, output) = try Self.prunekit([
            "prune", "--plugin", flow, "--plugin", try Self.product("libDiT.so"), "--preset", "dit-test", "--criterion", "gradient-flow",
            "--plugin-option", "gradient-flow.iterations=2", "--target", "0.3", "--random-prompts", "1", "--out", out,
        ])
        #expect(status == 0, "\(output)")
        #expect(output.contains("gradient-flow"))
        #expect(FileManager.default.fileExists(atPath: out + "/diffusion_pytorch_model.safetensors"))

        (status, output) = try Self.prunekit(["criteria", "--plugin", flow, "--plugin-option", "gradient-flow.iterations=none"])
        #expect(status != 0 && output.contains("iterations must be an integer in 1…1000, got 'none'"))
        (status, output) = try Self.prunekit(["criteria", "--plugin-option", "nobody.x=1"])
        #expect(status != 0 && output.contains("no loaded plugin is called nobody"))
        (status, output) = try Self.prunekit(["criteria", "--plugin", "libmissing"])
        #expect(status != 0 && output.contains("plugin libmissing not found on PRUNEKIT_PLUGIN_PATH"))
    }
}
