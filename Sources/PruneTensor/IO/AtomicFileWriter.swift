import Foundation

/// Writes a small file (JSON, Markdown, a PNG's bytes) atomically: the bytes go to a registered temporary
/// beside the destination (see ``TemporaryOutputs``), are flushed, and the temporary is renamed over the
/// destination. On any error the temporary is removed and an existing destination is untouched.
public enum AtomicFileWriter {
    /// Errors name the destination and the failed operation.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let operation: String
        public let reason: String
        public var description: String { "\(operation) \(path) failed: \(reason)" }
    }

    /// Writes `bytes` to `path`, replacing it if it exists. The directory must exist.
    /// - Throws: ``Failure`` naming `path` when the temporary cannot be created, written, flushed or renamed.
    public static func write(_ bytes: Data, to path: String) throws(Failure) {
        let temporary = TemporaryOutputs.path(beside: path)
        let registration = TemporaryOutputs.register(temporary)
        defer { TemporaryOutputs.unregister(registration) }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw Failure(path: path, operation: "create a temporary file for", reason: String(cString: strerror(errno))) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        var failure: Failure?
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = Failure(path: path, operation: "write", reason: String(cString: strerror(errno)))
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = Failure(path: path, operation: "fsync", reason: String(cString: strerror(errno))) }
        if close(fd) != 0, failure == nil { failure = Failure(path: path, operation: "close", reason: String(cString: strerror(errno))) }
        if let failure { throw failure }
        guard rename(temporary, path) == 0 else {
            throw Failure(path: path, operation: "rename into place", reason: String(cString: strerror(errno)))
        }
        renamed = true
    }
}
