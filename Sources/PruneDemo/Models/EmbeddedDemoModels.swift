import Foundation

/// Finds the trained demo models shipped in the repository's `Models/` folder (`demo-sdxl`, `demo-flux`).
///
/// Searched in order: `$PRUNEKIT_MODELS` (a folder holding `demo-sdxl/` and `demo-flux/`), then `Models/`
/// in every folder from the running executable's up to the root (a `swift build` puts `prunekit` in
/// `.build/<config>/` inside the checkout), then the same from the current directory.
public enum EmbeddedDemoModels {
    /// The environment variable naming a folder of demo models.
    public static let environmentVariable = "PRUNEKIT_MODELS"

    /// The folder name of `architecture`'s embedded model.
    public static func name(_ architecture: DemoArchitecture) -> String { "demo-\(architecture.rawValue)" }

    /// The directory of `architecture`'s embedded model.
    /// - Throws: ``DemoModelError/badFile(path:reason:)`` listing where it looked.
    public static func directory(_ architecture: DemoArchitecture, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(DemoModelError) -> String
    {
        try directory(architecture, searching: searchFolders(environment: environment))
    }

    /// The first of `folders` holding `architecture`'s model.
    /// - Throws: ``DemoModelError/badFile(path:reason:)`` listing where it looked.
    public static func directory(_ architecture: DemoArchitecture, searching folders: [String]) throws(DemoModelError) -> String {
        let candidates = folders.map { URL(fileURLWithPath: $0).appendingPathComponent(name(architecture)).path }
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "/config.json") }) { return found }
        throw .badFile(
            path: name(architecture),
            reason: "the embedded demo model was not found (looked in \(candidates.prefix(4).joined(separator: ", "))\(candidates.count > 4 ? ", …" : "")); "
                + "run from a PruneKit checkout or set \(environmentVariable) to its Models folder")
    }

    /// The folders that may hold the demo models, most specific first.
    static func searchFolders(environment: [String: String]) -> [String] {
        var folders: [String] = []
        if let configured = environment[environmentVariable], !configured.isEmpty { folders.append(configured) }
        let executablePath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first ?? "."
        let executable = URL(fileURLWithPath: executablePath).deletingLastPathComponent()
        let current = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for start in [executable, current] {
            var folder = start.standardizedFileURL
            while true {
                folders.append(folder.appendingPathComponent("Models").path)
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        var seen = Set<String>()
        return folders.filter { seen.insert($0).inserted }
    }
}
