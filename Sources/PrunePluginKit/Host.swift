import CPrunePlugin
import Foundation

/// The host's services table, set when the host calls the plugin's `initialize` (``PluginExport`` does
/// that for you). Every ``HostTensor`` operation goes through it.
public enum Host {
    nonisolated(unsafe) static var table: UnsafePointer<prune_host_services>?

    /// The services table, as large as the host states (`struct_size`): services appended after the host was built
    /// read as `nil` (the append-only rule, `PRUNE_HAS_FIELD`), and nothing past the host's table is read.
    /// - Throws: ``PluginFailure`` when the host has not initialised the plugin yet.
    static func services() throws(PluginFailure) -> prune_host_services {
        guard let table else { throw PluginFailure(status: PRUNE_ERR_INTERNAL, message: "the host has not initialised this plugin") }
        let size = min(Int(table.pointee.struct_size), MemoryLayout<prune_host_services>.size)
        guard size < MemoryLayout<prune_host_services>.size else { return table.pointee }
        var services = prune_host_services()
        withUnsafeMutableBytes(of: &services) { $0.copyMemory(from: UnsafeRawBufferPointer(start: table, count: size)) }
        return services
    }

    /// Writes `message` to the host's log.
    public static func log(_ message: String, level: Int32 = PRUNE_LOG_INFO) {
        guard let log = table?.pointee.log else { return }
        message.withCString { log(level, $0) }
    }

    /// Turns a host status into a thrown ``PluginFailure`` carrying the host's last_error() text.
    static func check(_ status: prune_status, _ what: @autoclosure () -> String) throws(PluginFailure) {
        guard status != PRUNE_OK else { return }
        let detail = table?.pointee.last_error?().map { String(cString: $0) } ?? ""
        throw PluginFailure(status: status, message: "\(what()): \(detail.isEmpty ? String(cString: prune_status_name(status)) : detail)")
    }
}

/// A failure inside a plugin, carried to the host as a status code plus the text `last_error()` returns.
public struct PluginFailure: Error, CustomStringConvertible {
    public var status: prune_status
    public var message: String

    public init(status: prune_status, message: String) {
        self.status = status
        self.message = message
    }

    /// `PRUNE_ERR_INVALID_ARGUMENT` with `message`.
    public static func invalidArgument(_ message: String) -> PluginFailure { PluginFailure(status: PRUNE_ERR_INVALID_ARGUMENT, message: message) }
    /// `PRUNE_ERR_UNSUPPORTED` with `message`.
    public static func unsupported(_ message: String) -> PluginFailure { PluginFailure(status: PRUNE_ERR_UNSUPPORTED, message: message) }

    public var description: String { message }
}

/// The plugin side of the error convention: nothing thrown crosses the C boundary; failures become a
/// status and a thread-local text for the descriptor's `last_error`.
public enum PluginBoundary {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// Runs `body`; a thrown ``PluginFailure`` becomes its status, any other error `PRUNE_ERR_INTERNAL`.
    public static func run(_ body: () throws -> Void) -> prune_status {
        do {
            try body()
            return PRUNE_OK
        } catch let failure as PluginFailure {
            setLastError(failure.message)
            return failure.status
        } catch {
            setLastError("\(error)")
            return PRUNE_ERR_INTERNAL
        }
    }

    /// Records `message` as this thread's last error.
    public static func setLastError(_ message: String) {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, strdup(message))
        free(previous)
    }

    /// This thread's last error text (NULL when none), for `prune_plugin_descriptor.last_error`.
    public static var lastError: UnsafePointer<CChar>? {
        pthread_getspecific(key).map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) }
    }
}
