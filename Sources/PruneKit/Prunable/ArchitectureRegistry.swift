import Foundation
import Synchronization

/// The architectures the running process can prune, found by `config.json` `_class_name` or by preset name.
///
/// The command line registers SDXL and FLUX at start-up and every architecture a plugin provides; an
/// embedding application registers its own the same way.
public final class ArchitectureRegistry: Sendable {
    /// The process-wide registry.
    public static let shared = ArchitectureRegistry()

    private let architectures = Mutex<[any PrunableArchitecture]>([])

    public init() {}

    /// Adds `architecture`.
    /// - Throws: ``ArchitectureRegistryError/duplicate(_:)`` when its name, a class name or a preset name
    ///   is already taken.
    public func register(_ architecture: any PrunableArchitecture) throws(ArchitectureRegistryError) {
        try architectures.withLock { (list: inout [any PrunableArchitecture]) throws(ArchitectureRegistryError) in
            for existing in list {
                if existing.name == architecture.name { throw .duplicate("architecture \(architecture.name)") }
                if let clash = Set(existing.classNames).intersection(architecture.classNames).first {
                    throw .duplicate("class \(clash) (already read by \(existing.name))")
                }
                if let clash = Set(existing.presets.map(\.name)).intersection(architecture.presets.map(\.name)).first {
                    throw .duplicate("preset \(clash) (already offered by \(existing.name))")
                }
            }
            list.append(architecture)
        }
    }

    /// Adds `architecture` unless one of the same name is registered (start-up code that may run twice).
    public func registerIfAbsent(_ architecture: any PrunableArchitecture) throws(ArchitectureRegistryError) {
        if all.contains(where: { $0.name == architecture.name }) { return }
        try register(architecture)
    }

    /// Every registered architecture, in registration order.
    public var all: [any PrunableArchitecture] { architectures.withLock { $0 } }

    /// Every preset of every architecture, with the architecture offering it.
    public var presets: [(architecture: any PrunableArchitecture, preset: ModelPresetDescriptor)] {
        all.flatMap { architecture in architecture.presets.map { (architecture, $0) } }
    }

    /// The architecture whose ``PrunableArchitecture/classNames`` include `className`.
    /// - Throws: ``ArchitectureRegistryError/unknownClass(className:source:known:)``.
    public func architecture(forClassName className: String, source: String) throws(ArchitectureRegistryError) -> any PrunableArchitecture {
        let list = all
        guard let found = list.first(where: { $0.classNames.contains(className) }) else {
            throw .unknownClass(className: className, source: source, known: list.flatMap(\.classNames))
        }
        return found
    }

    /// The architecture offering preset `name`, and the preset.
    /// - Throws: ``ArchitectureRegistryError/unknownPreset(name:known:)``.
    public func preset(named name: String) throws(ArchitectureRegistryError) -> (architecture: any PrunableArchitecture, preset: ModelPresetDescriptor) {
        let normalized = name.lowercased().replacingOccurrences(of: "_", with: "-")
        let all = presets
        guard let found = all.first(where: { $0.preset.name == normalized }) else {
            throw .unknownPreset(name: name, known: all.map(\.preset.name))
        }
        return found
    }

    /// Loads `directory` with the architecture its `config.json` `_class_name` names.
    /// - Throws: ``ArchitectureRegistryError`` for a missing or unreadable `config.json` or an unknown
    ///   class, or the architecture's loading error.
    public func loadModel(directory: String) throws -> any PrunableModel {
        try architecture(forClassName: try Self.className(directory: directory), source: directory).load(directory: directory)
    }

    /// Builds preset `name`'s model with weights drawn from `seed`.
    public func makeModel(preset name: String, seed: UInt64) throws -> any PrunableModel {
        let (architecture, preset) = try preset(named: name)
        return try architecture.makeModel(preset: preset.name, seed: seed)
    }

    /// The `_class_name` of `directory/config.json`.
    /// - Throws: ``ArchitectureRegistryError/missingConfiguration(path:)`` or ``ArchitectureRegistryError/badConfiguration(path:reason:)``.
    public static func className(directory: String) throws(ArchitectureRegistryError) -> String {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: path) else { throw .missingConfiguration(path: path) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let name = object["_class_name"] as? String
        else {
            throw .badConfiguration(path: path, reason: "expected a JSON object with a string _class_name")
        }
        return name
    }
}

/// Errors from finding an architecture, each naming what was asked for and what is known.
public enum ArchitectureRegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    case duplicate(String)
    case unknownClass(className: String, source: String, known: [String])
    case unknownPreset(name: String, known: [String])
    case missingConfiguration(path: String)
    case badConfiguration(path: String, reason: String)

    public var description: String {
        switch self {
        case .duplicate(let what): "\(what) is already registered"
        case .unknownClass(let className, let source, let known):
            "\(source): model class \(className) is not supported (known: \(known.joined(separator: ", ")); plugins add more)"
        case .unknownPreset(let name, let known): "unknown preset '\(name)'; known presets: \(known.joined(separator: ", "))"
        case .missingConfiguration(let path): "\(path) not found (the model configuration)"
        case .badConfiguration(let path, let reason): "\(path): \(reason)"
        }
    }
}
