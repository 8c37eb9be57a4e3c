import Foundation

/// Reads a file's ELF identification before `dlopen` sees it, so "not a shared object" and "built for
/// another machine" get their own errors instead of one `dlerror()` line.
enum SharedObjectCheck {
    /// The ELF `e_machine` of this process, and its name.
    static var hostMachine: (code: UInt16, name: String) {
        #if arch(x86_64)
            (62, "x86-64")
        #elseif arch(arm64)
            (183, "AArch64")
        #else
            (0, "this machine")
        #endif
    }

    /// Names of a few `e_machine` values, for messages.
    static func machineName(_ code: UInt16) -> String {
        switch code {
        case 3: "x86 (32-bit)"
        case 40: "ARM (32-bit)"
        case 62: "x86-64"
        case 183: "AArch64"
        case 243: "RISC-V"
        default: "ELF machine \(code)"
        }
    }

    /// Throws unless `path` is a 64-bit little-endian ELF shared object for this machine.
    /// - Throws: ``PluginError/notSharedObject(path:reason:)``, ``PluginError/wrongArchitecture(path:found:expected:)``.
    static func validate(path: String) throws(PluginError) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .notSharedObject(path: path, reason: "cannot be opened for reading")
        }
        defer { try? handle.close() }
        let bytes = [UInt8]((try? handle.read(upToCount: 20)) ?? Data())
        guard bytes.count == 20, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw .notSharedObject(path: path, reason: "no ELF header")
        }
        let machine = UInt16(bytes[18]) | UInt16(bytes[19]) << 8
        let host = hostMachine
        guard bytes[4] == 2 else {
            throw .wrongArchitecture(path: path, found: "32-bit \(machineName(machine))", expected: "64-bit \(host.name)")
        }
        guard bytes[5] == 1 else { throw .wrongArchitecture(path: path, found: "big-endian ELF", expected: host.name) }
        guard machine == host.code else {
            throw .wrongArchitecture(path: path, found: machineName(machine), expected: host.name)
        }
        let type = UInt16(bytes[16]) | UInt16(bytes[17]) << 8
        guard type == 3 else {
            throw .notSharedObject(path: path, reason: type == 2 ? "an executable" : type == 1 ? "an object file (link it with -shared)" : "ELF type \(type)")
        }
    }
}
