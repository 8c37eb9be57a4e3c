import ArgumentParser
import Foundation
import PruneKit

/// `prune --masks` and `prune --scores`: the kept units, or the scores they are planned from, read from a file
/// instead of computed by a criterion; and `--save-scores`, the criterion's scores written for a later run.
extension PruneCommand {
    /// The file that replaces the criterion.
    enum UnitFileInput: Equatable {
        /// `--masks FILE`: binary masks, exported as they are.
        case masks(String)
        /// `--scores FILE`: per-unit scores, planned with the target flags.
        case scores(String)
    }

    /// A selection read from `--masks` or planned from `--scores`.
    struct FileSelection {
        /// What `prunekit.json` records as the criterion: `masks` or `scores`.
        var name: String
        /// What `prunekit.json` records as the target (none for masks).
        var target: Double?
        var result: PlanResult
    }

    /// `--masks` or `--scores`, when given.
    var unitFile: UnitFileInput? {
        if let masks { return .masks(masks) }
        return scores.map(UnitFileInput.scores)
    }

    /// The target `prunekit.json` records for a criterion run: `--target`, unless per-kind targets replace it.
    var recordedTarget: Double? { targetHeads == nil && targetNeurons == nil ? targetFraction : nil }

    /// The flags a file of masks or scores makes meaningless, as (flag, given).
    private var criterionFlags: [(String, Bool)] {
        [
            ("--criterion", criterion != nil), ("--embeddings", embeddings != nil), ("--prompts", prompts != nil),
            ("--random-prompts", randomPrompts != nil), ("--penalty-weight", penaltyWeight != nil),
            ("--kind-penalty-weight", !kindPenaltyWeight.isEmpty),
            ("--learning-rate", learningRate != nil), ("--checkpoint", checkpoint != nil), ("--resume", resume),
            ("--save-scores", saveScores != nil),
        ]
    }

    /// The flags that choose how many units go, which given masks already decide.
    private var targetFlags: [(String, Bool)] {
        [
            ("--target", target != nil), ("--target-kind", targetKind != nil), ("--target-heads", targetHeads != nil),
            ("--target-neurons", targetNeurons != nil), ("--scope", scope != nil), ("--include", !include.isEmpty),
            ("--exclude", !exclude.isEmpty), ("--units", units != .standard),
        ]
    }

    /// Usage errors of `--masks`/`--scores`/`--save-scores`: one file at a time, present, and no flag it overrides.
    func validateUnitFiles() throws {
        guard masks == nil || scores == nil else {
            throw ValidationError("give --masks (binary masks, exported as they are) or --scores (ranked for a --target), not both")
        }
        for (flag, path) in [("--masks", masks), ("--scores", scores)] {
            if let path, !FileManager.default.fileExists(atPath: path) { throw ValidationError("\(flag) \(path) not found") }
        }
        guard let unitFile else { return }
        let given = criterionFlags.filter(\.1).map(\.0)
        switch unitFile {
        case .masks:
            let conflicting = given + targetFlags.filter(\.1).map(\.0)
            if !conflicting.isEmpty {
                throw ValidationError(
                    "--masks gives the kept units itself, so \(conflicting.joined(separator: ", ")) cannot be used with it; "
                        + "to rank units by a file's values for a target, give it as --scores")
            }
        case .scores:
            if !given.isEmpty {
                throw ValidationError(
                    "--scores replaces the criterion, so \(given.joined(separator: ", ")) cannot be used with it "
                        + "(the target flags apply: --target, --target-kind, --target-heads, --target-neurons, --scope, --include, --exclude)")
            }
        }
    }

    /// The selection `--masks` gives or `--scores` plans, checked against the model's `groups`; nil without them.
    /// - Throws: ``UnitFileError`` (as `--masks …`/`--scores …` usage errors) or ``PlanError``.
    func unitFileSelection(groups: [UnitGroup], shapes: [String: [Int]], plan: PruningPlan) throws -> FileSelection? {
        switch unitFile {
        case nil:
            return nil
        case .masks(let path):
            let selection: UnitSelection
            do { selection = try UnitFile.readMasks(path, groups: groups) } catch { throw CLIError.badOption("--masks: \(error)") }
            noteWholeModules(groups.filter { selection.kept[$0.moduleKey] == nil && !$0.isBlockList }, path: path, what: "masks")
            return FileSelection(
                name: "masks", target: nil, result: PlanResult(selection: selection, groups: groups, shapes: shapes, source: "masks \(path)"))
        case .scores(let path):
            let scores: UnitScores
            do { scores = try UnitFile.readScores(path, groups: groups) } catch { throw CLIError.badOption("--scores: \(error)") }
            let missing = groups.filter { scores[$0.moduleKey] == nil }
            noteWholeModules(missing, path: path, what: "scores")
            var plan = plan
            plan.exclude += missing.map { .glob($0.moduleKey) }  // module keys hold no glob characters: exact matches
            return FileSelection(
                name: "scores", target: recordedTarget, result: try plan.select(scores: scores, groups: groups, shapes: shapes))
        }
    }

    /// Says on stderr how many modules the file leaves out (they keep every unit).
    private func noteWholeModules(_ modules: [UnitGroup], path: String, what: String) {
        guard !modules.isEmpty else { return }
        printProgress("\(path) has no \(what) for \(modules.count) of the model's modules (e.g. \(modules[0].moduleKey)); they are kept whole")
    }

    /// Writes `--save-scores`: the criterion's scores as `score.<module key>` tensors, marked as a PruneKit output.
    func writeScores(_ scores: UnitScores, groups: [UnitGroup], to path: String) throws {
        try UnitFile.write(
            scores: scores, groups: groups, to: path,
            metadata: ["prunekit.output": "scores", "prunekit.criterion": criterionName, "prunekit.seed": String(seed)])
        printProgress("wrote the \(criterionName) scores to \(path)")
    }
}
