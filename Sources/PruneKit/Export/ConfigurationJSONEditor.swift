import Foundation

/// Edits a model's `config.json` by key, keeping every other key: how block-pruned exports write their new depth
/// (FLUX `num_layers`, SDXL `transformer_layers_per_block`) into the source's own configuration.
public enum ConfigurationJSONEditor {
    /// `data` (a JSON object) without the keys `removed` and with each key of `values` set (JSON-serialisable values: numbers, strings, arrays,
    /// dictionaries), written pretty-printed with sorted keys.
    /// - Throws: ``ExportError/invalidConfiguration(reason:)`` when `data` is not a JSON object or a value does not
    ///   serialise.
    public static func setting(_ values: [String: Any], removing removed: [String] = [], in data: Data) throws(ExportError) -> Data {
        guard var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .invalidConfiguration(reason: "the configuration is not a JSON object")
        }
        for key in removed { object[key] = nil }
        for (key, value) in values { object[key] = value }
        guard JSONSerialization.isValidJSONObject(object),
            let written = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        else { throw .invalidConfiguration(reason: "the edited configuration (\(values.keys.sorted().joined(separator: ", "))) does not serialise") }
        return written
    }
}
