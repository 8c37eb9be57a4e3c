import Foundation

/// `prunekit.json`: what a pruned export was cut from and what was removed. The format, its versioning rule and
/// its JSON Schema are in `docs/prunekit-json.md` and `docs/prunekit.schema.json`.
///
/// ```json
/// {
///   "format": "prunekit-export",  "format_version": 1,
///   "architecture": "UNet2DConditionModel",        // the diffusers class (config.json _class_name)
///   "criterion": "ecodiff", "target": 0.2, "seed": 7,   // as given by the caller; null when unknown
///   "source": {
///     "name": "/models/sdxl/unet",                   // the source directory, when known
///     "parameter_count": 2567463684,
///     "files": [{"name": "diffusion_pytorch_model.safetensors", "bytes": 10270077736, "sha256": "…"}]
///   },
///   "parameter_count": 2053970947,  "removed_parameter_count": 513492737,
///   "units": {"head": {"original": 2600, "kept": 2080}, "neuron": {"original": 332800, "kept": 266240}},
///   "modules": [                                     // every maskable module, in execution order
///     {"key": "down_blocks.1.attentions.0.transformer_blocks.0.attn1", "kind": "head",
///      "original_units": 10, "kept_units": 8, "kept": [0, 1, 2, 4, 5, 6, 8, 9]}, …
///   ]
/// }
/// ```
/// `kept_units` is the module's head count or FFN width in the export; `kept` lists the original unit
/// indices that survive, ascending (the export keeps them in this order). `source.files` fingerprints the
/// weight files of the source model directory (the single safetensors file, or the shard index and its
/// shards) with SHA-256, checkable with `sha256sum`; it is empty when the source was not a directory.
public struct ExportManifest: Codable, Sendable, Equatable {
    /// The file name inside an export directory.
    public static let fileName = "prunekit.json"
    /// The value of ``format``.
    public static let formatName = "prunekit-export"
    /// The newest format version this code reads and writes: 2 added whole blocks (`kind: "block"`, module key = the
    /// block list). A manifest without blocks is written as version 1, which older readers take.
    public static let currentFormatVersion = 2

    /// One fingerprinted file of the source model.
    public struct FileDigest: Codable, Sendable, Equatable {
        /// The file name relative to the source directory.
        public var name: String
        /// Size in bytes.
        public var bytes: Int
        /// SHA-256 of the file's bytes, 64 lowercase hex digits.
        public var sha256: String

        public init(name: String, bytes: Int, sha256: String) {
            self.name = name
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    /// The model the export was cut from.
    public struct Source: Codable, Sendable, Equatable {
        /// The source directory (or another name), when known.
        public var name: String?
        /// Parameters of the unpruned model.
        public var parameterCount: Int
        /// Fingerprints of the source weight files.
        public var files: [FileDigest]

        public init(name: String?, parameterCount: Int, files: [FileDigest]) {
            self.name = name
            self.parameterCount = parameterCount
            self.files = files
        }

        enum CodingKeys: String, CodingKey {
            case name, files
            case parameterCount = "parameter_count"
        }
    }

    /// Totals of one unit kind.
    public struct UnitTotals: Codable, Sendable, Equatable {
        public var original: Int
        public var kept: Int

        public init(original: Int, kept: Int) {
            self.original = original
            self.kept = kept
        }
    }

    /// One maskable module.
    public struct Module: Codable, Sendable, Equatable {
        /// The module key (`mask.<key>` in `masks.safetensors`).
        public var key: String
        public var kind: UnitKind
        /// Units before pruning.
        public var originalUnits: Int
        /// Units in the export: its head count or FFN width.
        public var keptUnits: Int
        /// The original indices of the kept units, ascending.
        public var kept: [Int]

        public init(key: String, kind: UnitKind, originalUnits: Int, kept: [Int]) {
            self.key = key
            self.kind = kind
            self.originalUnits = originalUnits
            self.keptUnits = kept.count
            self.kept = kept
        }

        enum CodingKeys: String, CodingKey {
            case key, kind, kept
            case originalUnits = "original_units"
            case keptUnits = "kept_units"
        }
    }

    /// Always ``formatName``.
    public var format: String
    /// 2 when ``modules`` records whole blocks, else 1.
    public var formatVersion: Int
    /// The diffusers class of the model (`UNet2DConditionModel`, `FluxTransformer2DModel`, or a plugin's).
    public var architecture: String
    /// The pruning criterion (e.g. `ecodiff`, `magnitude`), when given.
    public var criterion: String?
    /// The requested pruning ratio or budget, as the criterion took it, when given.
    public var target: Double?
    /// The random seed of the pruning run, when given.
    public var seed: UInt64?
    public var source: Source
    /// Parameters of the export.
    public var parameterCount: Int
    /// `source.parameter_count − parameter_count`.
    public var removedParameterCount: Int
    /// Original and kept units per kind (`head`, `neuron`, …).
    public var units: [String: UnitTotals]
    /// Every maskable module in execution order.
    public var modules: [Module]

    public init(
        architecture: String, criterion: String?, target: Double?, seed: UInt64?, source: Source, parameterCount: Int,
        modules: [Module]
    ) {
        format = Self.formatName
        // Version 2 added whole blocks (`kind: block`); an export without them stays readable by version-1 readers.
        formatVersion = modules.contains { $0.kind == .block } ? 2 : 1
        self.architecture = architecture
        self.criterion = criterion
        self.target = target
        self.seed = seed
        self.source = source
        self.parameterCount = parameterCount
        removedParameterCount = source.parameterCount - parameterCount
        var units: [String: UnitTotals] = [:]
        for module in modules {
            units[module.kind.rawValue, default: UnitTotals(original: 0, kept: 0)].original += module.originalUnits
            units[module.kind.rawValue, default: UnitTotals(original: 0, kept: 0)].kept += module.keptUnits
        }
        self.units = units
        self.modules = modules
    }

    enum CodingKeys: String, CodingKey {
        case format, architecture, criterion, target, seed, source, units, modules
        case formatVersion = "format_version"
        case parameterCount = "parameter_count"
        case removedParameterCount = "removed_parameter_count"
    }

    /// The kept unit indices per module, as a selection.
    public var selection: UnitSelection {
        UnitSelection(kept: Dictionary(uniqueKeysWithValues: modules.map { ($0.key, $0.kept) }))
    }

    /// The JSON text: keys sorted and indented, one line per module (a full-size model has hundreds of
    /// thousands of kept indices).
    public func encoded() throws(ExportError) -> Data {
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let compact = JSONEncoder()
        compact.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            var header = self
            header.modules = []
            let text = String(decoding: try pretty.encode(header), as: UTF8.self)
            let lines = try modules.map { String(decoding: try compact.encode($0), as: UTF8.self) }
            let emptyList = "\"modules\" : [\n\n  ]"
            guard text.contains(emptyList) else { return try pretty.encode(self) }
            let list = lines.isEmpty ? "\"modules\" : []" : "\"modules\" : [\n    " + lines.joined(separator: ",\n    ") + "\n  ]"
            return Data((text.replacingOccurrences(of: emptyList, with: list) + "\n").utf8)
        } catch {
            throw .invalidManifest(path: Self.fileName, reason: "\(error)")
        }
    }

    /// The two fields every version of the format keeps, read before the rest so that a file of a newer version
    /// is refused as such even when its other fields changed.
    private struct Header: Decodable {
        var format: String
        var formatVersion: Int
        enum CodingKeys: String, CodingKey {
            case format
            case formatVersion = "format_version"
        }
    }

    /// Reads `directory/prunekit.json` (the format is documented in `docs/prunekit-json.md`).
    ///
    /// `format` and `format_version` are checked first: a file of a newer version than
    /// ``currentFormatVersion`` is refused with both versions named, whatever else it holds. Fields this version
    /// does not know are ignored.
    /// - Throws: ``ExportError/invalidManifest(path:reason:)`` when it is absent, of another format or a newer
    ///   version, or does not decode.
    public static func load(directory: String) throws(ExportError) -> ExportManifest {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidManifest(path: path, reason: "the file cannot be read")
        }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: data) } catch {
            throw .invalidManifest(path: path, reason: "\(error)")
        }
        guard header.format == formatName else {
            throw .invalidManifest(path: path, reason: "format is \(header.format), expected \(formatName)")
        }
        guard header.formatVersion <= currentFormatVersion else {
            throw .invalidManifest(
                path: path,
                reason: "format_version \(header.formatVersion) is newer than \(currentFormatVersion), the newest this PruneKit reads; "
                    + "upgrade PruneKit")
        }
        guard header.formatVersion >= 1 else {
            throw .invalidManifest(path: path, reason: "format_version must be 1 or more, got \(header.formatVersion)")
        }
        let manifest: ExportManifest
        do { manifest = try JSONDecoder().decode(ExportManifest.self, from: data) } catch {
            throw .invalidManifest(path: path, reason: "\(error)")
        }
        for module in manifest.modules {
            guard module.keptUnits == module.kept.count, module.kept == Array(Set(module.kept)).sorted(),
                module.kept.allSatisfy({ $0 >= 0 && $0 < module.originalUnits })
            else {
                throw .invalidManifest(
                    path: path, reason: "\(module.key): kept must be \(module.keptUnits) ascending indices in 0..<\(module.originalUnits)")
            }
        }
        return manifest
    }
}
