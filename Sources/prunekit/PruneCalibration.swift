import Foundation
import PruneKit
import PruneTensor

/// Calibration prompts for `prunekit prune`, from an embeddings file.
enum PruneCalibration {
    /// An embeddings file holding P prompts along dimension 0 of `prompt_embeds` (and of every other
    /// tensor, or 1 to share it across prompts), split into single-prompt conditionings.
    struct Embeddings {
        let path: String
        let file: SafetensorsFile
        let count: Int

        init(path: String) throws {
            self.path = path
            file = try SafetensorsFile.open(path)
            guard file.contains("prompt_embeds") else { throw CLIError.missingInput(path: path, name: "prompt_embeds") }
            let shape = try file.tensor("prompt_embeds").shape
            guard shape.count >= 2, shape[0] >= 1 else {
                throw CLIError.invalidFile(path: path, reason: "prompt_embeds has shape \(shape), expected [P, …]")
            }
            count = shape[0]
        }

        /// Prompt `index` of tensor `name` as a batch of 1; a tensor holding one prompt serves every prompt.
        func prompt(_ index: Int, of name: String) throws -> Tensor? {
            guard file.contains(name) else { return nil }
            let tensor = try file.tensor(name)
            guard let batch = tensor.shape.first else {
                throw CLIError.invalidFile(path: path, reason: "\(name) is a scalar, expected [P, …]")
            }
            if batch == 1 { return tensor }
            guard batch == count else {
                throw CLIError.invalidFile(path: path, reason: "\(name) holds \(batch) prompts but prompt_embeds holds \(count)")
            }
            return tensor.sliced(axis: 0, index..<(index + 1))
        }

        /// Every prompt's conditioning for `model`: the tensors it conditions on (``PrunableModel/conditioningShapes``)
        /// and their `negative_` counterparts, sliced to that prompt; other tensors of the file are ignored.
        func conditionings(for model: any PrunableModel) throws -> [PromptConditioning] {
            let names = model.conditioningShapes.keys.flatMap { [$0, "negative_" + $0] }.filter(file.contains)
            return try (0..<count).map { index in
                var tensors: [String: Tensor] = [:]
                for name in names { tensors[name] = try prompt(index, of: name) }
                return PromptConditioning(tensors, source: path)
            }
        }
    }
}
