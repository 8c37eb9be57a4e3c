import PruneTensor

extension UnitMasks {
    /// Reads every `mask.<module key>` tensor of a safetensors file; other tensors are ignored.
    /// - Throws: `SafetensorsError` when the file cannot be read.
    public static func load(path: String) throws -> UnitMasks {
        let file = try SafetensorsFile.open(path)
        var masks = UnitMasks()
        for key in file.keys where key.hasPrefix(filePrefix) {
            masks[String(key.dropFirst(filePrefix.count))] = try file.tensor(key)
        }
        return masks
    }

    /// Writes the masks as `mask.<module key>` tensors, atomically.
    public func write(to path: String, metadata: [String: String] = [:]) throws {
        var tensors: [String: Tensor] = [:]
        for (module, mask) in byModule { tensors[Self.filePrefix + module] = mask }
        try SafetensorsWriter.write(tensors, metadata: metadata, to: path)
    }
}
