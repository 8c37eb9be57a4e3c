import Foundation

/// Finds the files PruneTokenizers ships (the CLIP merges) without SwiftPM's generated `Bundle.module`, which
/// stops the process when its resource folder is not where the build put it (a copied or installed binary).
///
/// Looked up in order: `$PRUNEKIT_RESOURCES/<name>`; the SwiftPM resource folder beside the running executable
/// (`PruneKit_PruneTokenizers.resources/`, also beside a test bundle); `../share/prunekit/<name>` from the
/// executable (an installed layout); and the package's own `Sources/PruneTokenizers/Resources/` (a checkout).
enum BundledResource {
    /// The environment variable naming a folder that holds the resources.
    static let environmentVariable = "PRUNEKIT_RESOURCES"
    /// The folder SwiftPM builds for this target's resources.
    static let bundleFolderName = "PruneKit_PruneTokenizers.resources"

    /// The places searched for `name`, in order.
    static func candidates(for name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var places: [String] = []
        if let folder = environment[environmentVariable], !folder.isEmpty { places.append(folder + "/" + name) }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        var folder = executable
        // A test bundle (`…/debug/PruneKitPackageTests.xctest`) or the executable's own folder, and up to two levels above.
        for _ in 0..<3 {
            places.append(folder.appendingPathComponent(bundleFolderName).appendingPathComponent(name).path)
            folder = folder.deletingLastPathComponent()
        }
        places.append(executable.deletingLastPathComponent().appendingPathComponent("share/prunekit/\(name)").path)
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        places.append(sources.appendingPathComponent("Resources").appendingPathComponent(name).path)
        return places
    }

    /// The first existing candidate for `name`.
    /// - Throws: ``TokenizerError/missingResource(name:)`` naming the file and the places searched.
    static func path(of name: String) throws(TokenizerError) -> String {
        let places = candidates(for: name)
        if let found = places.first(where: { FileManager.default.isReadableFile(atPath: $0) }) { return found }
        throw .missingResource(name: "\(name) (looked in \(places.joined(separator: ", ")); set \(environmentVariable) to its folder)")
    }
}
