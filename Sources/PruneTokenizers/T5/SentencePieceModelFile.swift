import Foundation

/// The parts of a SentencePiece `spiece.model` (a serialized `ModelProto`) a Unigram tokenizer needs.
///
/// This implementation matches: what transformers' `SentencePieceExtractor` reads when it converts `spiece.model`
/// for `T5Tokenizer`: the pieces with their scores and types (`ModelProto.pieces`, field 1: piece 1, score 2,
/// type 3), the model type and unknown id (`trainer_spec`, field 2: `model_type` 3, `unk_id` 40), and the
/// normalization table (`normalizer_spec`, field 3: `precompiled_charsmap` 2). Control (type 3) and user-defined
/// (type 4) pieces are special tokens matched in the raw text.
struct SentencePieceModelFile {
    /// `(piece, score)` in id order.
    var pieces: [(String, Double)] = []
    /// The SentencePiece type of each piece (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
    var types: [Int] = []
    /// `trainer_spec.model_type` (1 Unigram).
    var modelType = 1
    /// `trainer_spec.unk_id`.
    var unknownID = 0
    /// `normalizer_spec.precompiled_charsmap`, when present and not empty.
    var charsMap: [UInt8]?

    /// Reads `path`.
    ///
    /// - Throws: `TokenizerError.missingFile`, `.unreadableFile`, or `.invalidField` for malformed protobuf.
    init(path: String) throws(TokenizerError) {
        guard TokenizerFile.exists(path) else {
            throw .missingFile(path: path, expected: "a SentencePiece model (spiece.model)")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableFile(path: path, reason: "\(error)")
        }
        let bytes = [UInt8](data)
        var reader = ProtobufReader(bytes[...], path: path, message: "ModelProto")
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case (1, .bytes(let message)):
                try readPiece(message, path: path)
            case (2, .bytes(let message)):
                var trainer = ProtobufReader(message, path: path, message: "ModelProto.trainer_spec")
                while let (field, value) = try trainer.next() {
                    if case .varint(let raw) = value {
                        if field == 3 { modelType = Int(Int32(truncatingIfNeeded: raw)) }
                        if field == 40 { unknownID = Int(Int32(truncatingIfNeeded: raw)) }
                    }
                }
            case (3, .bytes(let message)):
                var normalizer = ProtobufReader(message, path: path, message: "ModelProto.normalizer_spec")
                while let (field, value) = try normalizer.next() {
                    if field == 2, case .bytes(let map) = value, !map.isEmpty { charsMap = Array(map) }
                }
            default:
                continue
            }
        }
        guard !pieces.isEmpty else {
            throw .invalidField(path: path, field: "ModelProto.pieces", expected: "at least one piece", found: "none")
        }
    }

    private mutating func readPiece(_ message: ArraySlice<UInt8>, path: String) throws(TokenizerError) {
        let name = "ModelProto.pieces[\(pieces.count)]"
        var reader = ProtobufReader(message, path: path, message: name)
        var piece: String?
        var score: Float = 0
        var type = 1
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case (1, .bytes(let text)):
                guard let decoded = String(validating: text, as: UTF8.self) else {
                    throw .invalidField(path: path, field: name + ".piece", expected: "UTF-8 text", found: "other bytes")
                }
                piece = decoded
            case (2, .fixed32(let bits)):
                score = Float(bitPattern: bits)
            case (3, .varint(let raw)):
                type = Int(Int32(truncatingIfNeeded: raw))
            default:
                continue
            }
        }
        guard let piece else { throw .missingField(path: path, field: name + ".piece") }
        pieces.append((piece, Double(score)))
        types.append(type)
    }
}
