import Foundation

/// Reads the text and JSON files tokenizers ship as, turning every failure into a `TokenizerError` that names the
/// file.
enum TokenizerFile {
    /// Whether a regular file exists at `path`.
    static func exists(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// The UTF-8 text of the file at `path`.
    ///
    /// - Parameter expected: what the file should hold, for the error when it is missing.
    /// - Throws: `TokenizerError.missingFile` or `.unreadableFile`.
    static func text(_ path: String, expected: String) throws(TokenizerError) -> String {
        guard exists(path) else { throw .missingFile(path: path, expected: expected) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableFile(path: path, reason: "\(error)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadableFile(path: path, reason: "the contents are not UTF-8 text")
        }
        return text
    }

    /// The top-level JSON object of the file at `path`.
    ///
    /// - Throws: `TokenizerError.missingFile`, `.unreadableFile`, `.invalidJSON`, or `.invalidField` when the top
    ///   level is not an object.
    static func jsonObject(_ path: String, expected: String) throws(TokenizerError) -> JSONObject {
        let text = try text(path, expected: expected)
        return try JSONObject.parse(text, path: path)
    }
}

/// A JSON object read from a tokenizer file, with typed accessors whose errors name the file and the field.
struct JSONObject: @unchecked Sendable {
    /// The parsed object (Foundation's `JSONSerialization` form).
    let values: [String: Any]
    /// The file it came from, for errors.
    let path: String
    /// The dotted path of this object inside the file (`""` for the top level).
    let field: String

    /// Parses `text` as one JSON object.
    static func parse(_ text: String, path: String) throws(TokenizerError) -> JSONObject {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            throw .invalidJSON(path: path, reason: (error as NSError).localizedDescription)
        }
        guard let object = parsed as? [String: Any] else {
            throw .invalidField(path: path, field: "(top level)", expected: "a JSON object", found: kind(of: parsed))
        }
        return JSONObject(values: object, path: path, field: "")
    }

    /// The dotted name of `key` inside this object.
    func name(_ key: String) -> String { field.isEmpty ? key : "\(field).\(key)" }

    /// Whether `key` is present with a non-null value.
    func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    /// The raw value of `key`, or nil when absent or null.
    func raw(_ key: String) -> Any? { has(key) ? values[key] : nil }

    /// The object at `key`.
    func object(_ key: String) throws(TokenizerError) -> JSONObject {
        guard let value = raw(key) else { throw .missingField(path: path, field: name(key)) }
        guard let object = value as? [String: Any] else {
            throw .invalidField(path: path, field: name(key), expected: "an object", found: JSONObject.kind(of: value))
        }
        return JSONObject(values: object, path: path, field: name(key))
    }

    /// The object at `key`, or nil when absent or null.
    func optionalObject(_ key: String) throws(TokenizerError) -> JSONObject? {
        has(key) ? try object(key) : nil
    }

    /// The string at `key`.
    func string(_ key: String) throws(TokenizerError) -> String {
        guard let value = raw(key) else { throw .missingField(path: path, field: name(key)) }
        guard let string = value as? String else {
            throw .invalidField(path: path, field: name(key), expected: "a string", found: JSONObject.kind(of: value))
        }
        return string
    }

    /// The string at `key`, or nil when absent or null.
    func optionalString(_ key: String) throws(TokenizerError) -> String? {
        has(key) ? try string(key) : nil
    }

    /// The Boolean at `key`, or `defaultValue` when absent or null.
    func bool(_ key: String, default defaultValue: Bool) throws(TokenizerError) -> Bool {
        guard let value = raw(key) else { return defaultValue }
        guard let number = value as? NSNumber else {
            throw .invalidField(path: path, field: name(key), expected: "true or false", found: JSONObject.kind(of: value))
        }
        return number.boolValue
    }

    /// The integer at `key`, or nil when absent or null.
    func optionalInt(_ key: String) throws(TokenizerError) -> Int? {
        guard let value = raw(key) else { return nil }
        guard let int = JSONObject.integer(value) else {
            throw .invalidField(path: path, field: name(key), expected: "an integer", found: JSONObject.kind(of: value))
        }
        return int
    }

    /// The array at `key`.
    func array(_ key: String) throws(TokenizerError) -> [Any] {
        guard let value = raw(key) else { throw .missingField(path: path, field: name(key)) }
        guard let array = value as? [Any] else {
            throw .invalidField(path: path, field: name(key), expected: "an array", found: JSONObject.kind(of: value))
        }
        return array
    }

    /// The array at `key`, or empty when absent or null.
    func optionalArray(_ key: String) throws(TokenizerError) -> [Any] {
        has(key) ? try array(key) : []
    }

    /// `value` as an object nested at `field`, or an error naming it.
    func nested(_ value: Any, field: String, expected: String = "an object") throws(TokenizerError) -> JSONObject {
        guard let object = value as? [String: Any] else {
            throw .invalidField(path: path, field: field, expected: expected, found: JSONObject.kind(of: value))
        }
        return JSONObject(values: object, path: path, field: field)
    }

    /// `value` as an exact integer (a JSON number with no fractional part), or nil.
    static func integer(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9.0e15 else { return nil }
        return number.intValue
    }

    /// `value` as a number, or nil.
    static func double(_ value: Any) -> Double? {
        guard let number = value as? NSNumber else { return nil }
        return number.doubleValue
    }

    /// A short description of a JSON value's kind and start, for errors.
    static func kind(of value: Any) -> String {
        switch value {
        case is NSNull: return "null"
        case is String: return "a string"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case let number as NSNumber: return "the number \(number)"
        default: return "\(type(of: value))"
        }
    }
}
