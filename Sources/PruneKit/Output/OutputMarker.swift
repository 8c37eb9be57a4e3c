import Foundation
import PruneTensor

/// How PruneKit recognises its own outputs, so that `--overwrite` replaces nothing else.
///
/// - A folder PruneKit wrote holds `.prunekit-output` (written by ``AtomicDirectoryWriter``), or
///   `prunekit.json` (every pruned export, including those of earlier versions).
/// - A safetensors file PruneKit wrote has `prunekit.*` keys in its `__metadata__`.
/// - A PNG carries a `tEXt` chunk `Software` = `PruneKit`.
/// - A JSON file is an object with the key `prunekit_output`.
/// - A Markdown file starts with the line `<!-- prunekit-output … -->`.
public enum OutputMarker {
    /// The marker file every folder written through ``AtomicDirectoryWriter`` holds.
    public static let directoryMarker = ".prunekit-output"
    /// The manifest of a pruned export, also accepted as a folder marker.
    public static let manifestName = "prunekit.json"
    /// The PNG `tEXt` keyword and value that mark a PruneKit image.
    public static let pngKeyword = "Software"
    public static let pngValue = "PruneKit"
    /// The JSON key that marks a PruneKit JSON file.
    public static let jsonKey = "prunekit_output"
    /// The first-line prefix that marks a PruneKit Markdown file.
    public static let markdownPrefix = "<!-- prunekit-output"

    /// The bytes of the folder marker for an output of `kind` ("export", "report", …).
    public static func directoryMarkerContents(kind: String) -> Data {
        Data("{\"\(jsonKey)\": \"\(kind)\", \"version\": 1}\n".utf8)
    }

    /// `json` (a JSON object as `JSONEncoder` writes it) with the marker key added first.
    public static func marking(json: Data, kind: String) -> Data {
        var text = String(decoding: json, as: UTF8.self)
        guard let brace = text.firstIndex(of: "{") else { return json }
        let rest = text[text.index(after: brace)...].drop { $0 == " " || $0 == "\n" }
        let entry = "\"\(jsonKey)\" : \"\(kind)\""
        text.replaceSubrange(brace...brace, with: rest.hasPrefix("}") ? "{\n  \(entry)" : "{\n  \(entry),")
        return Data(text.utf8)
    }

    /// `markdown` with the marker line in front.
    public static func marking(markdown: String, kind: String) -> String {
        "\(markdownPrefix) \(kind): written by prunekit; `--overwrite` may replace this file -->\n" + markdown
    }

    /// Whether the folder at `path` was written by PruneKit.
    public static func isPruneKitDirectory(_ path: String) -> Bool {
        let manager = FileManager.default
        return manager.fileExists(atPath: path + "/" + directoryMarker) || manager.fileExists(atPath: path + "/" + manifestName)
    }

    /// Whether the regular file at `path` is a PruneKit output of `format`.
    public static func isPruneKitFile(_ path: String, format: OutputFileFormat) -> Bool {
        switch format {
        case .safetensors:
            guard let file = try? SafetensorsFile.open(path) else { return false }
            return file.metadata.keys.contains { $0.hasPrefix("prunekit.") }
        case .png:
            return pngHasMarker(prefix(of: path, count: 4096))
        case .json:
            guard let data = FileManager.default.contents(atPath: path),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return false }
            return object[jsonKey] != nil
        case .markdown:
            return String(decoding: prefix(of: path, count: 256), as: UTF8.self).hasPrefix(markdownPrefix)
        }
    }

    /// Whether the PNG bytes carry the `Software` = `PruneKit` text chunk before the image data.
    static func pngHasMarker(_ bytes: [UInt8]) -> Bool {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { return false }
        let wanted = Array((pngKeyword + "\0" + pngValue).utf8)
        var offset = 8
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            let start = offset + 8
            if type == "IDAT" || type == "IEND" { return false }
            if type == "tEXt", start + length <= bytes.count, Array(bytes[start..<start + length]) == wanted { return true }
            offset = start + length + 4
        }
        return false
    }

    /// The first `count` bytes of a file (fewer if it is shorter; none if it cannot be read).
    private static func prefix(of path: String, count: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        let read = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, count) }
        return read > 0 ? Array(buffer.prefix(read)) : []
    }
}

/// The formats of the single files PruneKit writes.
public enum OutputFileFormat: String, Sendable {
    case safetensors, png, json, markdown
}
