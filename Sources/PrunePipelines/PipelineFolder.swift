import Foundation
import PruneNN

/// A diffusers pipeline folder: `model_index.json` plus one folder per component (`unet/` or
/// `transformer/`, `text_encoder/`, `text_encoder_2/`, `tokenizer/`, `tokenizer_2/`, `vae/`, `scheduler/`).
///
/// Opening checks the whole index at once: the pipeline class must be one PruneKit reads, every non-null
/// component must have a class its slot accepts and a folder on disk. Weights are found per component
/// (plain, sharded, or an fp16 variant; see ``WeightFiles``) and opened lazily.
///
/// ```swift
/// let pipeline = try PipelineFolder(path: "stable-diffusion-xl-base-1.0")
/// let unet = try pipeline.component("unet")          // configuration + tensors
/// let clip = try pipeline.component("text_encoder")  // CLIPTextModel names
/// ```
///
/// This implementation matches: diffusers `DiffusionPipeline.from_pretrained` (`model_index.json` entries are
/// `[library, class]` pairs, `[null, null]` for an absent component; underscore keys are attributes).
public struct PipelineFolder: Sendable {
    /// The index file's name.
    public static let indexFileName = "model_index.json"

    /// One non-null entry of `model_index.json`.
    public struct Entry: Sendable, Equatable {
        public var library: String
        public var className: String

        public init(library: String, className: String) {
            self.library = library
            self.className = className
        }
    }

    /// The folder.
    public let path: String
    /// `_class_name` (`StableDiffusionXLPipeline`, `FluxPipeline`, …).
    public let className: String
    /// The family the class belongs to.
    public let family: PipelineFamily
    /// The non-null components by slot name.
    public let components: [String: Entry]
    /// Every other member of `model_index.json` (`_diffusers_version`, `force_zeros_for_empty_prompt`, …).
    public let attributes: [String: JSONValue]

    /// Whether `path` is a folder holding `model_index.json`.
    public static func isPipelineFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            && FileManager.default.fileExists(atPath: URL(fileURLWithPath: path).appendingPathComponent(indexFileName).path)
    }

    /// Reads and checks `path/model_index.json`.
    /// - Throws: ``PipelineError`` naming the index or the component folder at fault.
    public init(path: String) throws(PipelineError) {
        let indexPath = URL(fileURLWithPath: path).appendingPathComponent(Self.indexFileName).path
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw .missingFile(path: indexPath, purpose: "the pipeline index of a diffusers pipeline folder")
        }
        guard let index = try? JSONValue.parse(data).objectValue else {
            throw .badJSON(path: indexPath, reason: "expected a JSON object")
        }
        guard let className = index["_class_name"]?.stringValue else {
            throw .badJSON(path: indexPath, reason: "expected a string _class_name")
        }
        guard let family = PipelineFamily(pipelineClass: className) else {
            throw .unknownPipelineClass(path: indexPath, className: className, known: PipelineFamily.knownPipelineClasses)
        }
        var components: [String: Entry] = [:]
        var attributes: [String: JSONValue] = [:]
        for (slot, value) in index.sorted(by: { $0.key < $1.key }) {
            guard !slot.hasPrefix("_"), let pair = value.arrayValue, pair.count == 2 else {
                attributes[slot] = value
                continue
            }
            if pair.allSatisfy(\.isNull) { continue }
            guard let library = pair[0].stringValue, let componentClass = pair[1].stringValue else {
                throw .badJSON(path: indexPath, reason: "\(slot): expected [library, class] or [null, null], found \(value)")
            }
            guard family.accepts(componentClass, in: slot) else {
                throw .unknownComponentClass(
                    path: indexPath, component: slot, className: componentClass, expected: family.slots[slot] ?? ["null"])
            }
            let directory = URL(fileURLWithPath: path).appendingPathComponent(slot).path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw .missingFile(path: directory, purpose: "the \(componentClass) folder model_index.json names")
            }
            components[slot] = Entry(library: library, className: componentClass)
        }
        guard components[family.denoiser] != nil else {
            throw .noComponent(path: indexPath, component: family.denoiser, available: components.keys.sorted())
        }
        self.path = path
        self.className = className
        self.family = family
        self.components = components
        self.attributes = attributes
    }

    /// The folder of component `name`.
    /// - Throws: ``PipelineError/noComponent(path:component:available:)``.
    public func directory(of name: String) throws(PipelineError) -> String {
        guard components[name] != nil else {
            throw .noComponent(
                path: URL(fileURLWithPath: path).appendingPathComponent(Self.indexFileName).path, component: name,
                available: components.keys.sorted())
        }
        return URL(fileURLWithPath: path).appendingPathComponent(name).path
    }

    /// The denoiser's folder (`unet/` or `transformer/`), loadable as a bare model directory.
    public var denoiserDirectory: String { URL(fileURLWithPath: path).appendingPathComponent(family.denoiser).path }

    /// The weights of component `name`: `diffusion_pytorch_model*` for diffusers components, `model*` for
    /// transformers ones; sharded or not; `variant` (`fp16`) when given, else the plain files with a
    /// variant as the fallback.
    /// - Throws: ``PipelineError/noWeights(directory:expected:)`` naming the folder and the files looked for.
    public func weights(of name: String, variant: String? = nil) throws(PipelineError) -> WeightFiles {
        let directory = try directory(of: name)
        let stem = components[name]!.library == "transformers" ? WeightFiles.transformersStem : WeightFiles.diffusersStem
        guard let files = WeightFiles.find(in: directory, stems: [stem], variant: variant) else {
            throw .noWeights(directory: directory, expected: WeightFiles.candidateNames(stem: stem, variant: variant))
        }
        return files
    }

    /// The configuration of component `name`: `config.json`, or `scheduler_config.json` for a scheduler,
    /// `tokenizer_config.json` for a tokenizer.
    /// - Throws: ``PipelineError`` when the file is absent or not a JSON object.
    public func configuration(of name: String) throws(PipelineError) -> ComponentConfiguration {
        let file =
            name.hasPrefix("scheduler") ? "scheduler_config.json" : name.hasPrefix("tokenizer") ? "tokenizer_config.json" : "config.json"
        let configPath = URL(fileURLWithPath: try directory(of: name)).appendingPathComponent(file).path
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw .missingFile(path: configPath, purpose: "the configuration of \(components[name]!.className)")
        }
        guard let object = try? JSONValue.parse(data).objectValue else {
            throw .badJSON(path: configPath, reason: "expected a JSON object")
        }
        return object
    }

    /// Component `name` with its configuration and (lazily opened) weights.
    /// - Throws: ``PipelineError`` for a missing component, configuration or weights, or an unreadable file.
    public func component(_ name: String, variant: String? = nil) throws(PipelineError) -> PipelineComponent {
        let configuration = try configuration(of: name)
        let files = try weights(of: name, variant: variant)
        let tensors: SafetensorsTensorSource
        do { tensors = try SafetensorsTensorSource(files) } catch {
            throw .unreadable(path: files.path, reason: error.description)
        }
        return PipelineComponent(
            name: name, className: components[name]!.className, configuration: configuration, tensors: tensors,
            origin: try directory(of: name))
    }
}
