import Foundation
import PruneKit
import Testing

/// `prunekit.json` is a versioned format (`docs/prunekit-json.md`): a reader refuses a newer `format_version`
/// and another `format` with one error naming the file and both values, and ignores fields it does not know.
@Suite struct ExportManifestVersionTests {
    /// A valid version-1 manifest as a JSON object.
    static func manifestObject() throws -> [String: Any] {
        let manifest = ExportManifest(
            architecture: "HandMade", criterion: "magnitude", target: 0.5, seed: 3,
            source: ExportManifest.Source(name: nil, parameterCount: 10, files: []), parameterCount: 8,
            modules: [ExportManifest.Module(key: "blk.attn", kind: .attentionHead, originalUnits: 2, kept: [1])])
        return try #require(try JSONSerialization.jsonObject(with: try manifest.encoded()) as? [String: Any])
    }

    /// Writes `object` as `prunekit.json` in a fresh directory and returns the directory.
    static func write(_ object: [String: Any]) throws -> String {
        let directory = SurgeryExportWriterTests.temporaryPath("manifest-version")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: directory + "/prunekit.json"))
        return directory
    }

    /// The description of the error `ExportManifest.load` throws for `directory`, or nil when it loads.
    static func loadError(_ directory: String) -> String? {
        do {
            _ = try ExportManifest.load(directory: directory)
            return nil
        } catch {
            return error.description
        }
    }

    @Test("A newer format_version is refused naming the file and both versions, even when the rest of the file changed")
    func newerVersionRefused() throws {
        var object = try Self.manifestObject()
        object["format_version"] = ExportManifest.currentFormatVersion + 1
        let directory = try Self.write(object)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let message = try #require(Self.loadError(directory))
        #expect(message.contains(directory + "/prunekit.json"))
        let current = ExportManifest.currentFormatVersion
        #expect(message.contains("format_version \(current + 1) is newer than \(current)"), "\(message)")

        // A version-2 file whose body no longer decodes as version 1 still gets the version error.
        object["modules"] = ["renamed": true]
        object.removeValue(forKey: "units")
        let changed = try Self.write(object)
        defer { try? FileManager.default.removeItem(atPath: changed) }
        let changedMessage = try #require(Self.loadError(changed))
        #expect(changedMessage.contains("format_version \(current + 1) is newer than \(current)"), "\(changedMessage)")
    }

    @Test("Another format, a version below 1 or a missing version is refused; unknown fields are ignored")
    func formatAndFields() throws {
        var object = try Self.manifestObject()
        object["format"] = "something-else"
        var directory = try Self.write(object)
        #expect(Self.loadError(directory)?.contains("format is something-else, expected prunekit-export") == true)
        try? FileManager.default.removeItem(atPath: directory)

        object = try Self.manifestObject()
        object["format_version"] = 0
        directory = try Self.write(object)
        #expect(Self.loadError(directory)?.contains("format_version must be 1 or more, got 0") == true)
        try? FileManager.default.removeItem(atPath: directory)

        object = try Self.manifestObject()
        object.removeValue(forKey: "format_version")
        directory = try Self.write(object)
        #expect(Self.loadError(directory)?.contains("format_version") == true)
        try? FileManager.default.removeItem(atPath: directory)

        object = try Self.manifestObject()
        object["added_in_a_later_minor_change"] = ["anything": 1]
        directory = try Self.write(object)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(Self.loadError(directory) == nil)
        #expect(try ExportManifest.load(directory: directory).modules.first?.kept == [1])
    }
}
