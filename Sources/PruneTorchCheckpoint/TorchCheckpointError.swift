/// Everything that can go wrong reading a `torch.save` file, with the file's path.
///
/// ``description`` renders one line, e.g.
/// `attn.pt: refused global posix.system (os.system): only tensor rebuilds are allowed …`.
public struct TorchCheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file (or, for in-memory input, the name given to the reader).
    public var path: String
    /// What is wrong.
    public var problem: Problem

    public init(path: String, _ problem: Problem) {
        self.path = path
        self.problem = problem
    }

    /// What is wrong with the file.
    public enum Problem: Equatable, Sendable {
        /// The file could not be opened or read (`reason` is the system's message).
        case unreadable(reason: String)
        /// Neither a zip archive nor a pickle stream (the first bytes are shown in hex).
        case notACheckpoint(firstBytes: String)
        /// The zip structure is damaged or uses a feature `torch.save` never writes (`reason` says which).
        case malformedZip(reason: String)
        /// A zip entry is compressed; `torch.save` stores entries uncompressed.
        case compressedEntry(name: String, method: Int)
        /// A zip entry's CRC-32 differs from the one recorded in the central directory.
        case checksumMismatch(name: String)
        /// A record the archive needs (`<archive>/data.pkl`, `<archive>/data/<key>`) is absent.
        case missingRecord(name: String)
        /// A pickle global other than the tensor rebuilds, storage types and `collections.OrderedDict`.
        /// Nothing is run: the file is refused when the global is named, before any call.
        case forbiddenGlobal(module: String, name: String)
        /// An opcode the restricted unpickler does not execute (`name` from the pickle opcode table).
        case unsupportedOpcode(code: UInt8, name: String, offset: Int)
        /// The pickle stream is malformed at byte `offset` (`reason` says how).
        case malformedPickle(offset: Int, reason: String)
        /// A limit that protects against hostile files was reached (`reason` names it).
        case limitExceeded(reason: String)
        /// A storage or tensor view is inconsistent with the data that backs it.
        case badTensor(reason: String)
    }

    /// Well-known modules whose names differ from where Python users import them.
    static func commonName(module: String, name: String) -> String? {
        switch module {
        case "posix", "nt": "os.\(name)"
        case "__builtin__": "builtins.\(name)"
        case "commands": "subprocess.\(name)"
        default: nil
        }
    }

    /// One line: control characters from the file (entry names, storage keys, strings in a hostile pickle)
    /// are shown escaped, as `\u{A}`.
    public var description: String {
        String(String.UnicodeScalarView(rawDescription.unicodeScalars.flatMap { scalar -> [Unicode.Scalar] in
            scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
                ? Array("\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars) : [scalar]
        }))
    }

    private var rawDescription: String {
        switch problem {
        case .unreadable(let reason): "\(path): cannot read the file: \(reason)"
        case .notACheckpoint(let bytes):
            "\(path): not a PyTorch checkpoint (neither a torch.save zip archive nor a pickle; first bytes \(bytes))"
        case .malformedZip(let reason): "\(path): damaged torch.save zip archive: \(reason)"
        case .compressedEntry(let name, let method):
            "\(path): zip entry \(name) is compressed (method \(method)); torch.save stores entries uncompressed, so this reader does not inflate"
        case .checksumMismatch(let name): "\(path): zip entry \(name) fails its CRC-32 check (the file is corrupt)"
        case .missingRecord(let name): "\(path): the archive has no record \(name)"
        case .forbiddenGlobal(let module, let name):
            "\(path): refused global \(module).\(name)\(Self.commonName(module: module, name: name).map { " (\($0))" } ?? ""): "
                + "the file asks to import something other than a tensor rebuild; only "
                + RestrictedUnpickler.allowedGlobalsSummary + " are allowed (nothing in the file was run)"
        case .unsupportedOpcode(let code, let name, let offset):
            "\(path): pickle opcode \(name) (0x\(String(code, radix: 16))) at byte \(offset) is not supported by the restricted unpickler"
        case .malformedPickle(let offset, let reason): "\(path): malformed pickle at byte \(offset): \(reason)"
        case .limitExceeded(let reason): "\(path): \(reason)"
        case .badTensor(let reason): "\(path): \(reason)"
        }
    }
}
