import Foundation
import PruneTensor
import Testing

/// "Without recompiling", demonstrated: the `prunekit` SwiftPM built is copied aside first; only then are
/// a C criterion (`Plugins/FPGM`, with the C compiler) and a Swift architecture (`Plugins/DiT` with the
/// author-side `PrunePluginKit`, with `swiftc`) compiled from source into a separate directory; the copied
/// host — byte-for-byte unchanged — then runs full pruning runs with each.
@Suite struct WithoutRecompilingTests {
    /// Compiles Plugins/DiT (and PrunePluginKit, which it embeds) into `directory/libDiT.so` with swiftc.
    static func compileSwiftDiT(into directory: URL) throws {
        let repository = PluginTestSupport.repository
        let swiftc = try PluginTestSupport.tool(["swiftc"])
        let work = directory.appendingPathComponent("swift-build")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        // The C header as a module, the way SwiftPM exposes Sources/CPrunePlugin.
        try "module CPrunePlugin {\n  header \"\(PluginTestSupport.includeDirectory)/prune_plugin.h\"\n  export *\n}\n"
            .write(to: work.appendingPathComponent("module.modulemap"), atomically: true, encoding: .utf8)
        func sources(_ folder: String) throws -> [String] {
            let url = repository.appendingPathComponent(folder)
            return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".swift") }.sorted()
                .map { url.appendingPathComponent($0).path }
        }
        let common = ["-parse-as-library", "-enable-upcoming-feature", "ExistentialAny", "-I", work.path]
        var (status, output) = try PluginTestSupport.run(
            swiftc,
            ["-emit-library", "-static", "-emit-module", "-module-name", "PrunePluginKit", "-Xcc", "-fPIC", "-emit-module-path",
             work.appendingPathComponent("PrunePluginKit.swiftmodule").path, "-o", work.appendingPathComponent("libPrunePluginKit.a").path]
                + common + (try sources("Sources/PrunePluginKit")))
        guard status == 0 else { throw TestFailure("swiftc PrunePluginKit failed:\n\(output)") }
        (status, output) = try PluginTestSupport.run(
            swiftc,
            ["-emit-library", "-module-name", "DiT", "-L", work.path, "-lPrunePluginKit",
             "-o", directory.appendingPathComponent("libDiT.so").path] + common + (try sources("Plugins/DiT")))
        guard status == 0 else { throw TestFailure("swiftc DiT failed:\n\(output)") }
    }

    @Test("an already-built prunekit prunes with a C criterion and a Swift architecture compiled after it")
    func pluginsBuiltAfterTheHost() throws {
        let root = try PluginTestSupport.temporaryDirectory("late")
        defer { try? FileManager.default.removeItem(at: root) }
        // 1. The host, built once (by SwiftPM, before this test ran), copied aside.
        let host = root.appendingPathComponent("bin/prunekit")
        try FileManager.default.createDirectory(at: host.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try PluginTestSupport.builtProduct("prunekit"), toPath: host.path)
        let hostBytes = try Data(contentsOf: host)
        let hostTime = try FileManager.default.attributesOfItem(atPath: host.path)[.modificationDate] as! Date

        // 2. The plugins, compiled from source now, into their own directory.
        let plugins = root.appendingPathComponent("plugins")
        try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: true)
        let repository = PluginTestSupport.repository
        try PluginTestSupport.compileC(
            [repository.appendingPathComponent("Plugins/FPGM/fpgm.c").path],
            includes: [repository.appendingPathComponent("Plugins/FPGM/include").path], output: plugins.appendingPathComponent("libFPGM.so").path)
        try Self.compileSwiftDiT(into: plugins)
        for name in ["libFPGM.so", "libDiT.so"] {
            let time = try FileManager.default.attributesOfItem(atPath: plugins.appendingPathComponent(name).path)[.modificationDate] as! Date
            #expect(time >= hostTime, "\(name) was built after the host")
        }

        // 3. A full pruning run with the plugin criterion (on a built-in architecture) …
        let criterionOut = root.appendingPathComponent("sdxl-fpgm").path
        var (status, output) = try PluginTestSupport.run(
            host.path, ["prune", "--plugin", plugins.appendingPathComponent("libFPGM.so").path, "--preset", "sdxl-tiny",
                        "--criterion", "fpgm", "--target", "0.25", "--out", criterionOut])
        #expect(status == 0, "\(output)")
        let manifest = try String(contentsOfFile: criterionOut + "/prunekit.json", encoding: .utf8)
        #expect(manifest.contains("\"criterion\" : \"fpgm\""))

        // … and one with the plugin architecture (found by name on PRUNEKIT_PLUGIN_PATH), pruned by a built-in
        // criterion that needs calibration, then reloaded through the plugin.
        let environment = ["PRUNEKIT_PLUGIN_PATH": plugins.path]
        let architectureOut = root.appendingPathComponent("dit-taylor").path
        (status, output) = try PluginTestSupport.run(
            host.path, ["prune", "--plugin", "DiT", "--preset", "dit-test", "--criterion", "taylor", "--target", "0.3",
                        "--random-prompts", "1", "--out", architectureOut], environment: environment)
        #expect(status == 0, "\(output)")
        #expect(output.contains("wrote \(architectureOut)"))
        (status, output) = try PluginTestSupport.run(host.path, ["params", "--model", architectureOut, "--json"], environment: environment)
        #expect(status == 0, "\(output)")
        let reloadedParameters = try #require(
            (try JSONSerialization.jsonObject(with: Data(output.split(separator: "\n").last!.utf8)) as? [String: Int])?["parameters"])
        let exported = try SafetensorsFile.open(architectureOut + "/diffusion_pytorch_model.safetensors")
        #expect(reloadedParameters == exported.keys.reduce(0) { $0 + (exported.info($1)?.count ?? 0) })
        #expect(reloadedParameters < 231_200)  // dit-test unpruned

        // 4. The host never changed.
        #expect(try Data(contentsOf: host) == hostBytes)
    }
}
