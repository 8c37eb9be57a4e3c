import Foundation
import PrunePipelines
import PruneTensor
import PruneTestSupport
import PruneTokenizers
import Testing

/// `PipelineTextConditioning` against diffusers' own `encode_prompt` on the tiny SDXL and FLUX pipelines
/// (`make_pipeline_fixtures.py` writes `encode_prompt.safetensors` and `.json` beside each pipeline): token ids
/// must be identical, every embedding within 1e-4 relative (`max|a − b| / max|b|`), zero negatives exactly zero.
@Suite struct EncodePromptParityTests {
    /// One case of `encode_prompt.json`.
    struct Case: Decodable, CustomTestStringConvertible {
        var name: String
        var prompt: String
        var negativePrompt: String?
        var clipSkip: Int?
        var maxSequenceLength: Int?
        var tensors: [String]
        var testDescription: String { name }

        enum CodingKeys: String, CodingKey {
            case name, prompt, tensors
            case negativePrompt = "negative_prompt"
            case clipSkip = "clip_skip"
            case maxSequenceLength = "max_sequence_length"
        }
    }

    struct Cases: Decodable { var cases: [Case] }

    static func cases(_ pipeline: String) -> [Case] {
        let path = Fixtures.path("\(pipeline)/encode_prompt.json")
        guard let data = FileManager.default.contents(atPath: path), let decoded = try? JSONDecoder().decode(Cases.self, from: data) else {
            return []
        }
        return decoded.cases
    }

    static let sdxlCases = cases("sdxl-pipeline-tiny")
    static let fluxCases = cases("flux-pipeline-tiny")
    static let sdxlFolder = Result { try PipelineTextConditioning.load(Fixtures.path("sdxl-pipeline-tiny")) }
    static let sdxlSingleFile = Result {
        try PipelineTextConditioning.load(Fixtures.path("sdxl-pipeline-tiny.safetensors"), tokenizers: Fixtures.path("sdxl-pipeline-tiny"))
    }
    static let flux = Result { try PipelineTextConditioning.load(Fixtures.path("flux-pipeline-tiny")) }

    /// The worst relative error of `tensors` against the reference file's `<case>.<name>` tensors.
    static func compare(_ tensors: [String: Tensor], case testCase: Case, reference path: String) throws -> [String: Float] {
        let reference = try SafetensorsFile.open(path)
        var errors: [String: Float] = [:]
        for name in testCase.tensors where !name.contains("input_ids") {
            let key = String(name.dropFirst(testCase.name.count + 1))
            let actual = try #require(tensors[key], "\(testCase.name): \(key) missing; got \(tensors.keys.sorted())")
            let expected = try reference.tensor(name)
            try #require(actual.shape == expected.shape, "\(name): \(actual.shape) vs \(expected.shape)")
            errors[key] = maximumRelativeError(actual, expected)
        }
        #expect(Set(errors.keys) == Set(tensors.keys), "\(testCase.name): PruneKit wrote \(tensors.keys.sorted())")
        return errors
    }

    /// Token ids of each tokenizer against `<case>.input_ids_1/_2` (and the negative prompt's, when encoded).
    static func checkIDs(_ tokenizers: [(String, (String) -> [Int32])], case testCase: Case, reference path: String) throws {
        let reference = try SafetensorsFile.open(path)
        for (suffix, tokenize) in tokenizers {
            let expected = try reference.tensor("\(testCase.name).input_ids_\(suffix)").scalars().map { Int32($0) }
            #expect(tokenize(testCase.prompt) == expected, "\(testCase.name) tokenizer \(suffix)")
            if let negative = testCase.negativePrompt, reference.contains("\(testCase.name).negative_input_ids_\(suffix)") {
                let negativeIDs = try reference.tensor("\(testCase.name).negative_input_ids_\(suffix)").scalars().map { Int32($0) }
                #expect(tokenize(negative) == negativeIDs, "\(testCase.name) negative, tokenizer \(suffix)")
            }
        }
    }

    @Test("SDXL folder: token ids identical and every embedding within 1e-4 of diffusers' encode_prompt", arguments: sdxlCases)
    func sdxlFolderMatchesDiffusers(_ testCase: Case) throws {
        let conditioning = try Self.sdxlFolder.get()
        guard case .sdxl(let sdxl) = conditioning else { Issue.record("not SDXL"); return }
        let reference = Fixtures.path("sdxl-pipeline-tiny/encode_prompt.safetensors")
        try Self.checkIDs(
            [("1", { sdxl.tokenizer!.encode($0).ids }), ("2", { sdxl.tokenizer2.encode($0).ids })], case: testCase, reference: reference)
        let tensors = try withoutGradients {
            try conditioning.encode(prompt: testCase.prompt, negativePrompt: testCase.negativePrompt, clipSkip: testCase.clipSkip)
        }
        let errors = try Self.compare(tensors, case: testCase, reference: reference)
        print("encode_prompt sdxl-pipeline-tiny \(testCase.name): max relative error \(errors.values.max() ?? 0)")
        for (name, error) in errors { #expect(error <= 1e-4, "\(testCase.name) \(name): \(error)") }
    }

    @Test("SDXL single file (fp16) with the folder's tokenizers: within fp16 rounding of diffusers' folder output", arguments: sdxlCases)
    func sdxlSingleFileMatchesFolder(_ testCase: Case) throws {
        let tensors = try withoutGradients {
            try Self.sdxlSingleFile.get().encode(prompt: testCase.prompt, negativePrompt: testCase.negativePrompt, clipSkip: testCase.clipSkip)
        }
        let errors = try Self.compare(tensors, case: testCase, reference: Fixtures.path("sdxl-pipeline-tiny/encode_prompt.safetensors"))
        print("encode_prompt sdxl-pipeline-tiny.safetensors \(testCase.name): max relative error \(errors.values.max() ?? 0)")
        // diffusers' own single-file load differs from its folder by up to 1.6e-3 here (encode_prompt.json).
        for (name, error) in errors { #expect(error <= 5e-3, "\(testCase.name) \(name): \(error)") }
    }

    @Test("FLUX folder: token ids identical and every embedding within 1e-4 of diffusers' encode_prompt", arguments: fluxCases)
    func fluxFolderMatchesDiffusers(_ testCase: Case) throws {
        let conditioning = try Self.flux.get()
        guard case .flux(let flux) = conditioning else { Issue.record("not FLUX"); return }
        let length = testCase.maxSequenceLength ?? 512
        let reference = Fixtures.path("flux-pipeline-tiny/encode_prompt.safetensors")
        try Self.checkIDs(
            [("1", { flux.tokenizer.encode($0).ids }), ("2", { flux.tokenizer2.encode($0, maxLength: length).ids })], case: testCase,
            reference: reference)
        let tensors = try withoutGradients {
            try conditioning.encode(prompt: testCase.prompt, negativePrompt: testCase.negativePrompt, maxSequenceLength: length)
        }
        let errors = try Self.compare(tensors, case: testCase, reference: reference)
        print("encode_prompt flux-pipeline-tiny \(testCase.name): max relative error \(errors.values.max() ?? 0)")
        for (name, error) in errors { #expect(error <= 1e-4, "\(testCase.name) \(name): \(error)") }
    }

    @Test("The fixtures hold the cases the tests rely on")
    func fixturesPresent() {
        #expect(Self.sdxlCases.count >= 6 && Self.fluxCases.count >= 6)
        #expect(Self.sdxlCases.contains { $0.negativePrompt == "" } && Self.sdxlCases.contains { $0.clipSkip != nil })
    }

    @Test("Settings for the other family and out-of-range lengths are errors, not silently ignored")
    func settingErrors() throws {
        #expect(throws: PipelineError.self) { try Self.sdxlFolder.get().encode(prompt: "a", maxSequenceLength: 16) }
        #expect(throws: PipelineError.self) { try Self.flux.get().encode(prompt: "a", clipSkip: 1) }
        #expect(throws: PipelineError.badSetting("max_sequence_length must be in 1…512 (FluxPipeline's limit), got 513")) {
            try Self.flux.get().encode(prompt: "a", maxSequenceLength: 513)
        }
    }
}
