import Foundation

/// A path made absolute and resolved the way the kernel will resolve it: relative to the working
/// directory, every symbolic link followed, `.` and `..` applied to the physical parent (as `realpath -m`
/// does). Components past the deepest existing one are kept as written, so an output that does not exist
/// yet still resolves. Two paths name the same place exactly when their resolved forms are equal.
public struct ResolvedPath: Hashable, Sendable, CustomStringConvertible {
    /// The components after the root, none of them empty, `.` or `..`.
    public let components: [String]

    /// The absolute path.
    public var path: String { "/" + components.joined(separator: "/") }
    public var description: String { path }

    /// Resolves `path` against `workingDirectory` (default: the process's).
    /// - Returns: nil for an empty path, which names no place.
    public init?(_ path: String, workingDirectory: String? = nil) {
        guard !path.isEmpty else { return nil }
        let base = workingDirectory ?? FileManager.default.currentDirectoryPath
        let absolute = path.hasPrefix("/") ? path : base + "/" + path
        components = Self.resolve(absolute.split(separator: "/", omittingEmptySubsequences: true).map(String.init), depth: 0)
    }

    init(components: [String]) { self.components = components }

    /// Whether `self` is `other` or lies inside it.
    public func isWithin(_ other: ResolvedPath) -> Bool {
        components.count >= other.components.count && Array(components.prefix(other.components.count)) == other.components
    }

    /// The folder that holds this path (the root holds itself).
    public var parent: ResolvedPath { ResolvedPath(components: Array(components.dropLast())) }

    /// The last component ("" for the root).
    public var name: String { components.last ?? "" }

    /// Follows links component by component; at most 40 links, as Linux allows, after which the rest is kept as written.
    private static func resolve(_ parts: [String], depth: Int) -> [String] {
        var resolved: [String] = []
        var remaining = parts[...]
        var links = depth
        while let part = remaining.popFirst() {
            if part == "." { continue }
            if part == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            let candidate = "/" + (resolved + [part]).joined(separator: "/")
            var status = stat()
            guard links < 40, lstat(candidate, &status) == 0, (status.st_mode & S_IFMT) == S_IFLNK,
                let target = try? FileManager.default.destinationOfSymbolicLink(atPath: candidate)
            else {
                resolved.append(part)
                continue
            }
            links += 1
            let targetParts = target.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            let restart = target.hasPrefix("/") ? targetParts : resolved + targetParts
            resolved = resolve(restart, depth: links)
        }
        return resolved
    }
}
