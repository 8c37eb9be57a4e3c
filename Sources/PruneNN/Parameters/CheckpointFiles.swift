import Foundation
import PruneTensor

/// Errors locating or indexing a checkpoint on disk.
public enum CheckpointFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No weights file (single or sharded) in the model directory.
    case noWeights(directory: String)
    /// A `*.safetensors.index.json` that is not a valid index.
    case badIndex(path: String, reason: String)
    /// A tensor file failed to open or validate.
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .noWeights(let directory):
            "no diffusion_pytorch_model.safetensors, *.safetensors.index.json or an fp16/bf16 variant of them in \(directory)"
        case .badIndex(let path, let reason): "bad shard index \(path): \(reason)"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        }
    }
}

/// A ``TensorSource`` over one safetensors file or the shards named by a diffusers index.
///
/// Files are memory-mapped; a float32 tensor is a zero-copy view of the mapping, 16-bit tensors are
/// widened to float32 one tensor at a time when a layer asks for them. Files holding integer or other non-float
/// entries (an SDXL single file's int64 `position_ids`) open like any other: ``keys`` and ``shape(of:)`` list
/// them, so a loader that does not ask for one still reports it as unexpected unless it ignores it by name.
public struct SafetensorsTensorSource: TensorSource {
    /// The file that holds each key.
    private let fileForKey: [String: SafetensorsFile]
    /// A name for error messages (the file or index path).
    public let name: String

    /// One safetensors file.
    public init(file path: String) throws(CheckpointFileError) {
        do {
            let file = try SafetensorsFile.open(path)
            fileForKey = Dictionary(uniqueKeysWithValues: file.keys.map { ($0, file) })
            name = path
        } catch {
            throw .unreadable(path: path, reason: error.description)
        }
    }

    /// The shards listed by a diffusers `*.safetensors.index.json` (`weight_map: {key: file}`).
    public init(index path: String) throws(CheckpointFileError) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .badIndex(path: path, reason: error.localizedDescription)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let weightMap = object["weight_map"] as? [String: String]
        else { throw .badIndex(path: path, reason: "expected an object with a weight_map of key → file name") }
        var files: [String: SafetensorsFile] = [:]
        var mapping: [String: SafetensorsFile] = [:]
        for (key, shard) in weightMap.sorted(by: { $0.key < $1.key }) {
            if files[shard] == nil {
                let shardPath = directory.appendingPathComponent(shard).path
                do { files[shard] = try SafetensorsFile.open(shardPath) } catch {
                    throw .unreadable(path: shardPath, reason: error.description)
                }
            }
            guard files[shard]!.contains(key) else {
                throw .badIndex(path: path, reason: "\(key) is mapped to \(shard), which does not contain it")
            }
            mapping[key] = files[shard]!
        }
        fileForKey = mapping
        name = path
    }

    /// The weights of a diffusers model directory: `diffusion_pytorch_model.safetensors`, or the index of
    /// its shards, or (when only those are present) a precision variant of either (see ``WeightFiles``).
    public init(modelDirectory directory: String) throws(CheckpointFileError) {
        guard let files = WeightFiles.find(in: directory, stems: [WeightFiles.diffusersStem]) else {
            throw .noWeights(directory: directory)
        }
        try self.init(files)
    }

    public var keys: [String] { fileForKey.keys.sorted() }

    public func shape(of key: String) -> [Int]? { fileForKey[key]?.info(key)?.shape }

    /// The floating type `key` is stored in (nil for an absent key or a non-float tensor).
    public func storedDType(of key: String) -> DType? { fileForKey[key]?.info(key)?.dtype.computeDType }

    public func tensor(_ key: String) throws -> Tensor {
        guard let file = fileForKey[key] else { throw CheckpointError.missingKeys([key], source: name) }
        return try file.tensor(key)
    }

    /// `float32`, `float16` and `bfloat16` tensors as zero-copy views of the mapping in their stored type
    /// (16-bit pages are faulted in from the page cache as they are read); `float64` ones rounded to
    /// `float32`; boolean, integer and 8-bit float ones decoded to `float32` (see ``SafetensorsFile/tensor(_:as:)``).
    public func storedTensor(_ key: String) throws -> Tensor {
        guard let file = fileForKey[key], let info = file.info(key) else {
            throw CheckpointError.missingKeys([key], source: name)
        }
        switch info.dtype.computeDType {
        case .float32, .float16, .bfloat16: return try file.tensor(key, as: info.dtype.computeDType)
        case .float64, nil: return try file.tensor(key)
        }
    }
}
