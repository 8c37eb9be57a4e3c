import ArgumentParser
import Foundation
import PruneKit
import PrunePluginHost

/// `prunekit plugins`: what plugins provide.
struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "Inspect dlopen plugins (criteria and architectures loaded from .so files).",
        subcommands: [PluginsListCommand.self], defaultSubcommand: PluginsListCommand.self)
}

/// `prunekit plugins list`: each plugin's name, version, kinds and ABI, or why it did not load.
struct PluginsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the plugins of --plugin and PRUNEKIT_PLUGIN_PATH: name, version, kind, ABI, what each provides, or why it did not load.",
        discussion: "Exits non-zero when a plugin named with --plugin did not load (or failed --check).")

    @Option(name: .customLong("plugin"), help: "A plugin .so to load: a path, or a file name on PRUNEKIT_PLUGIN_PATH (repeatable).")
    var plugins: [String] = []

    @Flag(help: "Also run each plugin's self-test hook, if it has one.") var check = false

    /// The report lines and whether a named plugin failed.
    static func report(_ outcomes: [PluginSession.Outcome], check: Bool) -> (lines: [String], failed: Bool) {
        var lines: [String] = []
        var failed = false
        if outcomes.isEmpty { lines.append("no plugins (give --plugin PATH or set PRUNEKIT_PLUGIN_PATH)") }
        for outcome in outcomes {
            switch outcome.result {
            case .failure(let error):
                failed = failed || outcome.named
                lines.append("FAILED \(outcome.request): \(error)")
            case .success(let plugin):
                lines.append("\(plugin.name) \(plugin.version)  kind: \(plugin.kindNames.joined(separator: "+"))  ABI \(plugin.abiVersion)  \(plugin.path)")
                if !plugin.summary.isEmpty { lines.append("  \(plugin.summary)") }
                for criterion in plugin.criteria { lines.append("  criterion \(criterion.name): \(criterion.summary)") }
                for architecture in plugin.architectures {
                    lines.append("  architecture \(architecture.name) (classes \(architecture.classNames.joined(separator: ", ")); presets \(architecture.presets.map(\.name).joined(separator: ", ")))")
                }
                for hook in plugin.hooks {
                    lines.append("  hook \(hook.role): \(hook.symbol) \(hook.signature)\(hook.isKnownRole ? "" : " (role unknown to this host; not called)")")
                }
                if let about = plugin.about() { lines.append("  about: \(about)") }
                if check {
                    do {
                        let ran = try plugin.selfTest()
                        lines.append(ran == nil ? "  self-test: none" : "  self-test: passed")
                    } catch {
                        failed = failed || outcome.named
                        lines.append("  self-test: FAILED: \(error)")
                    }
                }
            }
        }
        return (lines, failed)
    }

    func run() throws {
        let (lines, failed) = Self.report(PluginSession.loadAll(named: plugins), check: check)
        for line in lines { print(line) }
        if failed { throw ExitCode(1) }
    }
}
