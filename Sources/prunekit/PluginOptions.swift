import ArgumentParser
import Foundation
import PruneKit
import PrunePluginHost

/// `--plugin PATH` and `--plugin-option KEY=VALUE`, shared by the commands that use criteria or
/// architectures. Parsing loads the plugins (and every plugin on `PRUNEKIT_PLUGIN_PATH`) before the
/// command's own validation, so plugin criteria, architectures and presets are known by name like
/// built-ins.
struct PluginOptions: ParsableArguments {
    @Option(
        name: .customLong("plugin"),
        help: "A plugin .so to load: a path, or a file name looked up on PRUNEKIT_PLUGIN_PATH (repeatable).")
    var plugins: [String] = []

    @Option(
        name: .customLong("plugin-option"),
        help: "An option for a loaded plugin, PLUGIN.KEY=VALUE (e.g. gradient-flow.iterations=8); repeatable.")
    var pluginOptions: [String] = []

    func validate() throws {
        do { try PluginSession.load(named: plugins, options: pluginOptions) } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Loading the plugins a command line asks for, once per process.
enum PluginSession {
    /// One plugin request and how it ended.
    struct Outcome {
        /// What was asked for (`--plugin` value, or a file found on the search path).
        var request: String
        /// Whether `--plugin` named it (a failure then fails the command).
        var named: Bool
        var result: Result<LoadedPlugin, PluginError>
    }

    /// The directories of `PRUNEKIT_PLUGIN_PATH` (colon-separated), in order.
    static func searchPath(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        (environment["PRUNEKIT_PLUGIN_PATH"] ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
    }

    /// The file `request` names: itself when it contains a slash, else `request` or `lib<request>.so`
    /// (or `lib<request>`, `<request>.so`) in the first search-path directory that has it.
    /// - Throws: ``PluginError/notOnSearchPath(name:searched:)``.
    static func resolve(_ request: String, searchPath: [String] = searchPath()) throws(PluginError) -> String {
        if request.contains("/") { return request }
        let candidates = [request, "lib\(request).so", "lib\(request)", "\(request).so"]
        for directory in searchPath {
            for candidate in candidates {
                let path = URL(fileURLWithPath: directory).appendingPathComponent(candidate).path
                if FileManager.default.fileExists(atPath: path) { return path }
            }
        }
        if FileManager.default.fileExists(atPath: request) { return request }
        throw .notOnSearchPath(name: request, searched: searchPath)
    }

    /// Every `*.so` file directly inside the search-path directories.
    static func discovered(searchPath: [String] = searchPath()) -> [String] {
        searchPath.flatMap { directory -> [String] in
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return files.filter { $0.hasSuffix(".so") }.sorted().map { URL(fileURLWithPath: directory).appendingPathComponent($0).path }
        }
    }

    /// Loads and registers the named plugins and those on the search path; never throws.
    static func loadAll(named requests: [String], searchPath: [String] = searchPath()) -> [Outcome] {
        _ = Architectures.registry  // built-ins first
        var outcomes: [Outcome] = []
        var seen = Set<String>()
        func attempt(_ request: String, named: Bool) {
            let result: Result<LoadedPlugin, PluginError>
            do {
                let path = try resolve(request, searchPath: searchPath)
                let plugin = try PluginLoader.load(path: path)
                guard seen.insert(plugin.path).inserted else { return }
                try PluginLoader.register(plugin, criteria: .shared, architectures: Architectures.registry)
                result = .success(plugin)
            } catch {
                result = .failure(error)
            }
            outcomes.append(Outcome(request: request, named: named, result: result))
        }
        for request in requests { attempt(request, named: true) }
        for path in discovered(searchPath: searchPath) { attempt(path, named: false) }
        return outcomes
    }

    /// Loads the named plugins (a failure throws) and those on the search path (a failure is a warning
    /// on stderr), then applies `options`.
    /// - Throws: the first named plugin's ``PluginError``, or an option's.
    static func load(named requests: [String], options: [String]) throws(PluginError) {
        let outcomes = loadAll(named: requests)
        for outcome in outcomes {
            guard case .failure(let error) = outcome.result else { continue }
            if outcome.named { throw error }
            FileHandle.standardError.write(Data("warning: skipping a plugin on PRUNEKIT_PLUGIN_PATH: \(error)\n".utf8))
        }
        let loaded = PluginLoader.all
        for option in options {
            guard let equals = option.firstIndex(of: "="), let dot = option[..<equals].firstIndex(of: ".") else {
                throw .pluginFailed(plugin: "?", function: "--plugin-option \(option)", status: -1, message: "expected PLUGIN.KEY=VALUE")
            }
            let name = String(option[..<dot])
            let key = String(option[option.index(after: dot)..<equals])
            let value = String(option[option.index(after: equals)...])
            guard let plugin = loaded.first(where: { $0.name == name }) else {
                throw .pluginFailed(
                    plugin: name, function: "--plugin-option \(option)", status: -5,
                    message: "no loaded plugin is called \(name) (loaded: \(loaded.map(\.name).joined(separator: ", ")))")
            }
            try plugin.configure(key: key, value: value)
        }
    }
}
