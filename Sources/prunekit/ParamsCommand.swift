import ArgumentParser
import Foundation
import PruneKit

/// `prunekit params`: parameters, attention heads and FFN neurons of a preset or a model directory, optionally
/// as pruned to a masks file.
struct ParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params", abstract: "Count parameters, attention heads and FFN neurons.",
        discussion: """
            With --masks FILE, counts the model as `prunekit prune --masks FILE` would export it: the parameters left, \
            the units kept per kind and the share removed. Presets are counted from their configuration alone (no \
            weights are allocated); a --model directory's weights are mapped, not read.
            """)

    @Option(help: "A named configuration: \(Architectures.registry.presets.map(\.preset.name).joined(separator: ", ")).")
    var preset: String?

    @Option(help: "A diffusers model directory (config.json + safetensors).")
    var model: String?

    @Option(help: "Count the model pruned to these binary masks (mask.<module key>, one 0/1 value per unit; modules the file does not name keep every unit).")
    var masks: String?

    @OptionGroup var plugins: PluginOptions

    @Flag(help: "Print JSON with the fields parameters, heads, ffn_neurons (with --masks also original, removed_parameters, removed_share, maskable_parameters, units).")
    var json = false

    func validate() throws {
        guard (preset == nil) != (model == nil) else { throw ValidationError("give exactly one of --preset or --model") }
        if let masks, !FileManager.default.fileExists(atPath: masks) { throw ValidationError("--masks \(masks) not found") }
    }

    /// The counts for the chosen preset or model directory.
    func accounting() throws -> ModelAccounting {
        if let preset {
            let (architecture, descriptor) = try Architectures.registry.preset(named: preset)
            return try architecture.accounting(preset: descriptor.name)
        }
        return try Architectures.loadModel(directory: model!).accounting
    }

    /// The unit groups and parameter shapes of the chosen preset (no weights) or model directory.
    func layout() throws -> ModelLayout {
        if let preset {
            let (architecture, descriptor) = try Architectures.registry.preset(named: preset)
            return try architecture.layout(preset: descriptor.name)
        }
        return try Architectures.loadModel(directory: model!).layout
    }

    /// The counts of the model pruned to `--masks`.
    /// - Throws: ``UnitFileError`` (as a `--masks` usage error) when the file does not fit the model.
    func prunedAccounting(masks path: String) throws -> PrunedAccounting {
        let layout = try layout()
        let selection: UnitSelection
        do { selection = try UnitFile.readMasks(path, groups: layout.groups) } catch { throw CLIError.badOption("--masks: \(error)") }
        return try PrunedAccounting(layout: layout, selection: selection)
    }

    func run() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let masks {
            let counts = try prunedAccounting(masks: masks)
            if json {
                print(String(decoding: try encoder.encode(counts), as: UTF8.self))
            } else {
                print(Self.lines(counts).joined(separator: "\n"))
            }
            return
        }
        let accounting = try accounting()
        if json {
            print(String(decoding: try encoder.encode(accounting), as: UTF8.self))
        } else {
            print("parameters   \(accounting.parameters)")
            print("heads        \(accounting.heads)")
            print("ffn_neurons  \(accounting.ffnNeurons)")
        }
    }

    /// The text form of pruned counts: parameters left and removed, then kept units and removed parameters per kind.
    static func lines(_ counts: PrunedAccounting) -> [String] {
        func percent(_ part: Int, of whole: Int) -> String { String(format: "%.2f %%", whole == 0 ? 0 : 100 * Double(part) / Double(whole)) }
        var lines = [
            "parameters   \(counts.parameters) of \(counts.original.parameters) (\(counts.removedParameters) removed, "
                + "\(percent(counts.removedParameters, of: counts.original.parameters)) of the model, "
                + "\(percent(counts.removedParameters, of: counts.maskableParameters)) of the maskable parameters)"
        ]
        for kind in UnitKind.allCases {
            guard let totals = counts.units[kind.rawValue] else { continue }
            let label = kind == .attentionHead ? "heads" : kind == .feedForwardNeuron ? "ffn_neurons" : kind.rawValue
            lines.append(
                label.padding(toLength: 13, withPad: " ", startingAt: 0)
                    + "\(totals.kept) of \(totals.original) (\(totals.removedParameters) parameters removed, "
                    + "\(percent(totals.removedParameters, of: totals.parameters)) of theirs)")
        }
        return lines
    }
}
