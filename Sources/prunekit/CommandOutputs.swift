import ArgumentParser
import Foundation
import PruneKit

/// How every `prunekit` command that writes applies PruneKit's output-safety rule (``OutputGuard``): the
/// paths are checked in `validate()` (nothing touched), then claimed — locked, checked against what exists,
/// stale temporaries removed — as the first step of `run()`, before any work starts.
enum CommandOutputs {
    /// The rule's path checks, as a usage error.
    static func validate(_ outputs: [OutputRequest], inputs: [InputPath]) throws {
        do { try OutputGuard.check(outputs, inputs: inputs) } catch { throw ValidationError(error.description) }
    }

    /// Claims the outputs for this run (released when the returned claim is), printing what was cleaned up.
    /// Interrupts (SIGINT, SIGTERM, SIGHUP) from here on remove the outputs' temporaries before exiting.
    static func claim(_ outputs: [OutputRequest], inputs: [InputPath], overwrite: Bool) throws -> OutputClaim {
        OutputInterrupts.install()
        let claim = try OutputGuard.claim(outputs, inputs: inputs, overwrite: overwrite)
        for note in claim.notes { printProgress(note) }
        return claim
    }

    /// `--model`, `--embeddings` … as inputs, skipping the absent ones.
    static func inputs(_ pairs: [(String, String?)]) -> [InputPath] {
        pairs.compactMap { flag, path in path.map { InputPath(flag: flag, path: $0) } }
    }

    /// The `--plugin` files a command line names, as inputs.
    static func inputs(plugins: PluginOptions) -> [InputPath] {
        plugins.plugins.filter { $0.contains("/") }.map { InputPath(flag: "--plugin", path: $0) }
    }
}
