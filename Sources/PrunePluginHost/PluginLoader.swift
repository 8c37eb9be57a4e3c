import CPrunePlugin
import Foundation
import PruneKit
import Synchronization

/// Loads plugins: `dlopen(RTLD_NOW | RTLD_LOCAL)` (never `dlclose`: Swift code cannot be unloaded
/// safely), the entry symbol, the descriptor's ABI version and struct size, the optional hooks'
/// signatures, then `initialize` with the host services and a check of every struct it returned.
/// Each failure is a ``PluginError`` naming the file and both values.
///
/// ```swift
/// let plugin = try PluginLoader.load(path: "libGradientFlow.so")
/// try PluginLoader.register(plugin)            // its criteria and architectures become usable by name
/// ```
public enum PluginLoader {
    private static let loaded = Mutex<[String: LoadedPlugin]>([:])

    /// Loads the plugin at `path` (once per process: a second load of the same file returns the first).
    /// - Throws: ``PluginError``.
    public static func load(path: String) throws(PluginError) -> LoadedPlugin {
        guard FileManager.default.fileExists(atPath: path) else { throw .fileNotFound(path: path) }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        if let existing = loaded.withLock({ $0[absolute] }) { return existing }
        try SharedObjectCheck.validate(path: path)
        guard let library = dlopen(absolute, RTLD_NOW | RTLD_LOCAL) else {
            throw .loadFailed(path: path, reason: dlerror().map { String(cString: $0) } ?? "unknown reason")
        }
        // The handle is deliberately never closed.
        guard let entry = dlsym(library, PRUNE_PLUGIN_ENTRY_SYMBOL) else {
            throw .missingEntrySymbol(path: path, symbol: PRUNE_PLUGIN_ENTRY_SYMBOL)
        }
        let entryFunction = unsafeBitCast(entry, to: prune_plugin_entry_fn.self)
        guard let descriptor = entryFunction() else {
            throw .invalidDescriptor(path: path, reason: "\(PRUNE_PLUGIN_ENTRY_SYMBOL)() returned NULL")
        }
        try checkDescriptor(descriptor, path: path)
        let hooks = try resolveHooks(descriptor.pointee, library: library, path: path)
        let plugin = LoadedPlugin(path: absolute, descriptor: descriptor, hooks: hooks)
        try initialize(plugin, path: path)
        return loaded.withLock { table in
            if let raced = table[absolute] { return raced }
            table[absolute] = plugin
            return plugin
        }
    }

    /// Every plugin loaded so far.
    public static var all: [LoadedPlugin] { loaded.withLock { Array($0.values) }.sorted { $0.path < $1.path } }

    /// Registers `plugin`'s criteria in `criteria` and its architectures in `architectures` (skipping any
    /// already registered from this same plugin).
    /// - Throws: ``PluginError/duplicate(path:what:)`` when a name belongs to someone else.
    public static func register(
        _ plugin: LoadedPlugin, criteria: CriterionRegistry = .shared, architectures: ArchitectureRegistry = .shared
    ) throws(PluginError) {
        for criterion in plugin.criteria {
            if let existing = try? criteria.criterion(named: criterion.name) {
                if let same = existing as? PluginCriterion, same.plugin === plugin { continue }
                throw .duplicate(path: plugin.path, what: "criterion '\(criterion.name)'")
            }
            do { try criteria.register(criterion) } catch { throw .duplicate(path: plugin.path, what: "criterion '\(criterion.name)'") }
        }
        for architecture in plugin.architectures {
            if let existing = architectures.all.first(where: { $0.name == architecture.name }) {
                if let same = existing as? PluginArchitecture, same.plugin === plugin { continue }
                throw .duplicate(path: plugin.path, what: "architecture '\(architecture.name)'")
            }
            do { try architectures.register(architecture) } catch {
                throw .duplicate(path: plugin.path, what: error.description)
            }
        }
    }

    // MARK: - Checks

    private static func checkDescriptor(_ descriptor: UnsafePointer<prune_plugin_descriptor>, path: String) throws(PluginError) {
        // Only the two stamp fields are read before they are checked.
        let abi = descriptor.pointee.abi_version
        guard abi == PRUNE_PLUGIN_ABI_VERSION else { throw .abiMismatch(path: path, plugin: abi, host: PRUNE_PLUGIN_ABI_VERSION) }
        let size = Int(descriptor.pointee.struct_size)
        let minimum = ABIMinimumSize.descriptor
        guard size >= minimum else {
            throw .structTooSmall(path: path, structure: "prune_plugin_descriptor", size: size, minimum: minimum, abi: abi)
        }
        let d = descriptor.pointee
        guard let name = d.name, !String(cString: name).isEmpty else { throw .invalidDescriptor(path: path, reason: "the descriptor has no name") }
        guard d.version != nil else { throw .invalidDescriptor(path: path, reason: "the descriptor has no version") }
        guard d.initialize != nil else { throw .invalidDescriptor(path: path, reason: "the descriptor has no initialize function") }
        let known = PRUNE_KIND_CRITERION | PRUNE_KIND_ARCHITECTURE
        guard d.kinds != 0, d.kinds & ~known == 0 else {
            throw .invalidDescriptor(path: path, reason: "kinds \(d.kinds) is not a non-empty set of PRUNE_KIND_* bits")
        }
        guard d.hook_count >= 0, d.hook_count <= 256, d.hook_count == 0 || d.hooks != nil else {
            throw .invalidDescriptor(path: path, reason: "hook_count \(d.hook_count) with hooks \(d.hooks == nil ? "NULL" : "set")")
        }
    }

    private static func resolveHooks(_ d: prune_plugin_descriptor, library: UnsafeMutableRawPointer, path: String) throws(PluginError) -> [PluginHook] {
        var hooks: [PluginHook] = []
        for index in 0..<Int(d.hook_count) {
            let entry = d.hooks[index]
            guard let role = entry.role, let symbol = entry.symbol, let signature = entry.signature else {
                throw .invalidDescriptor(path: path, reason: "hook \(index) lacks a role, symbol or signature")
            }
            let (roleName, symbolName) = (String(cString: role), String(cString: symbol))
            guard !hooks.contains(where: { $0.role == roleName }) else {
                throw .invalidDescriptor(path: path, reason: "hook role '\(roleName)' is declared twice")
            }
            guard let address = dlsym(library, symbol) else { throw .missingHookSymbol(path: path, role: roleName, symbol: symbolName) }
            hooks.append(try PluginHook(role: roleName, symbol: symbolName, signature: String(cString: signature), function: address, path: path))
        }
        return hooks
    }

    private static func initialize(_ plugin: LoadedPlugin, path: String) throws(PluginError) {
        var contents = prune_plugin_contents()
        contents.struct_size = UInt32(MemoryLayout<prune_plugin_contents>.size)
        let status = plugin.descriptor.pointee.initialize(HostServices.table, &contents)
        guard status == PRUNE_OK else { throw plugin.failure("initialize", status: status) }
        guard contents.criterion_count >= 0, contents.criterion_count == 0 || contents.criteria != nil,
            contents.architecture_count >= 0, contents.architecture_count == 0 || contents.architectures != nil
        else { throw .invalidDescriptor(path: path, reason: "initialize returned inconsistent counts and tables") }
        for index in 0..<Int(contents.criterion_count) {
            guard let vtable = contents.criteria[index] else { throw .invalidDescriptor(path: path, reason: "criterion \(index) is NULL") }
            plugin.criteria.append(try PluginCriterion(vtable: vtable, plugin: plugin))
        }
        for index in 0..<Int(contents.architecture_count) {
            guard let vtable = contents.architectures[index] else { throw .invalidDescriptor(path: path, reason: "architecture \(index) is NULL") }
            plugin.architectures.append(try PluginArchitecture(vtable: vtable, plugin: plugin))
        }
        if plugin.kinds & PRUNE_KIND_CRITERION != 0, plugin.criteria.isEmpty {
            throw .invalidDescriptor(path: path, reason: "declares the criterion kind but registered no criterion")
        }
        if plugin.kinds & PRUNE_KIND_ARCHITECTURE != 0, plugin.architectures.isEmpty {
            throw .invalidDescriptor(path: path, reason: "declares the architecture kind but registered no architecture")
        }
    }
}
