// libFuzzer harness for the restricted torch.save reader: every input is handed to `TorchCheckpoint.load(data:name:)`
// (zip or legacy layout, the restricted unpickler), and every value it accepts is walked: each tensor's view is
// re-checked against its storage and its elements are read. Built and run by Fuzz/run-torch-checkpoint-fuzzer.sh,
// which compiles this file together with Sources/PruneTorchCheckpoint into one module (hence no import).
//
// A crash, a sanitizer report, a hang, an out-of-memory or a broken invariant below (a precondition failure) is a
// finding.
import Foundation

/// The name the fuzzer's bytes go by in errors.
private let fuzzPath = "fuzz-input"

/// Walks an accepted value: every tensor lies inside its storage and reads back with one value per element.
private func walk(_ value: TorchValue) {
    switch value {
    case .tuple(let items), .list(let items): items.forEach(walk)
    case .dict(let entries):
        for entry in entries {
            walk(entry.key)
            walk(entry.value)
        }
    case .tensor(let tensor):
        precondition(
            TorchTensor.validate(storage: tensor.storage, offset: tensor.storageOffset, shape: tensor.shape, strides: tensor.strides) == nil,
            "an accepted view fails its own check")
        precondition(tensor.storage.bytes.count == tensor.storage.elementCount * tensor.dtype.byteSize, "storage bytes disagree with its size")
        if let values = tensor.floatValues() { precondition(values.count == tensor.elementCount, "floatValues count") }
    default: break
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func torchCheckpointFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    do {
        walk(try TorchCheckpoint.load(data: bytes, name: fuzzPath))
    } catch {
        // Every rejection is one line that starts with the input's name.
        let line = error.description
        precondition(error.path == fuzzPath && line.hasPrefix(fuzzPath + ": "), "error does not name the input: \(line)")
        precondition(!line.contains("\n"), "error spans several lines: \(line)")
    }
    return 0
}
