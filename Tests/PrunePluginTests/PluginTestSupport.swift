import Foundation
import PrunePluginHost
import Testing

/// Paths and tools the plugin tests use: the repository, the build directory the tests run from (where
/// SwiftPM put `prunekit` and the plugin `.so` products), and compilers for plugins built at test time.
enum PluginTestSupport {
    /// The repository root (this file is Tests/PrunePluginTests/PluginTestSupport.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The header directory of the plugin ABI.
    static var includeDirectory: String { repository.appendingPathComponent("Sources/CPrunePlugin/include").path }

    /// The directory holding the test executable (SwiftPM's `.build/<triple>/debug`).
    static var buildDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// A product SwiftPM built next to the tests (`prunekit`, `libGradientFlow.so`, …).
    static func builtProduct(_ name: String) throws -> String {
        for directory in [buildDirectory, buildDirectory.deletingLastPathComponent(), Bundle.main.bundleURL.deletingLastPathComponent()] {
            let path = directory.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw TestFailure("\(name) not found next to the test executable in \(buildDirectory.path); run the tests with `swift test`")
    }

    /// A fresh temporary directory.
    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-plugin-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The first of `names` on PATH (or next to `swiftc`).
    static func tool(_ names: [String]) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for name in names {
            for directory in path {
                let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name).path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        throw TestFailure("none of \(names) is on PATH")
    }

    /// Runs `executable` with `arguments`; returns the exit status and the combined output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Compiles C `sources` into the shared object `output` with the ABI header on the include path.
    static func compileC(_ sources: [String], defines: [String] = [], includes: [String] = [], output: String) throws {
        let compiler = try tool(["clang", "cc", "gcc"])
        let arguments = ["-std=c11", "-O1", "-shared", "-fPIC", "-I", includeDirectory] + includes.flatMap { ["-I", $0] }
            + defines.map { "-D\($0)" } + sources + ["-o", output, "-lm"]
        let (status, text) = try run(compiler, arguments)
        guard status == 0 else { throw TestFailure("\(compiler) failed (\(status)):\n\(text)") }
    }

    /// The broken test plugin compiled with `define` (nil: the valid variant), cached per process.
    static func brokenPlugin(_ define: String?) throws -> String {
        let directory = try brokenDirectory()
        let output = directory.appendingPathComponent("libbroken-\(define ?? "valid").so").path
        if !FileManager.default.fileExists(atPath: output) {
            try compileC(
                [repository.appendingPathComponent("Tests/PrunePluginTests/BrokenPlugins/broken_plugin.c").path],
                defines: define.map { [$0] } ?? [], output: output)
        }
        return output
    }

    nonisolated(unsafe) private static var brokenDirectoryURL: URL?
    private static let lock = NSLock()
    private static func brokenDirectory() throws -> URL {
        try lock.withLock {
            if let url = brokenDirectoryURL { return url }
            let url = try temporaryDirectory("broken")
            brokenDirectoryURL = url
            return url
        }
    }
}

/// A test precondition that did not hold (missing tool or product).
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
