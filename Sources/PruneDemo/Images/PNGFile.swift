import CPNG
import Foundation
import PruneKit
import PruneTensor

/// Reads and writes 8-bit RGB PNG files through libpng's simplified API.
public enum PNGFile {
    /// Writes `image` to `path` atomically: the bytes go to a temporary file in the same directory (registered
    /// with `TemporaryOutputs`, so an interrupt removes it), which is renamed over `path` only once complete.
    /// The file carries a `tEXt` chunk `Software` = `PruneKit` right after its header, the marker by which
    /// `--overwrite` recognises PruneKit's own images (`OutputMarker`).
    /// - Throws: ``DemoModelError/png(path:reason:)`` with libpng's message or the file-system error.
    public static func write(_ image: RGBImage, to path: String) throws(DemoModelError) {
        let encoded = try encode(image, path: path)
        do { try AtomicFileWriter.write(Data(withMarker(encoded)), to: path) } catch {
            throw .png(path: path, reason: error.description)
        }
    }

    /// The PNG bytes of `image`, from libpng's simplified writer (no marker); `path` only names the image in errors.
    public static func encode(_ image: RGBImage, path: String) throws(DemoModelError) -> [UInt8] {
        var control = png_image()
        control.version = png_uint_32(PNG_IMAGE_VERSION)
        control.width = png_uint_32(image.width)
        control.height = png_uint_32(image.height)
        control.format = png_uint_32(PNG_FORMAT_RGB)
        var size = 0
        let stride = png_int_32(image.width * 3)
        let measured = image.bytes.withUnsafeBytes { buffer in
            png_image_write_to_memory(&control, nil, &size, 0, buffer.baseAddress, stride, nil)
        }
        var bytes = [UInt8](repeating: 0, count: max(size, 1))
        let written =
            measured != 0
            ? image.bytes.withUnsafeBytes { buffer in
                bytes.withUnsafeMutableBytes { output in
                    png_image_write_to_memory(&control, output.baseAddress, &size, 0, buffer.baseAddress, stride, nil)
                }
            } : 0
        let message = Self.message(of: &control)
        png_image_free(&control)
        guard written != 0 else { throw .png(path: path, reason: message.isEmpty ? "libpng could not encode the image" : message) }
        return Array(bytes.prefix(size))
    }

    /// `png` with the PruneKit `tEXt` chunk inserted after `IHDR` (signature 8 bytes + IHDR chunk 25 bytes).
    static func withMarker(_ png: [UInt8]) -> [UInt8] {
        let text = Array(OutputMarker.pngKeyword.utf8) + [0] + Array(OutputMarker.pngValue.utf8)
        let body = Array("tEXt".utf8) + text
        var chunk = bigEndian(UInt32(text.count)) + body
        chunk += bigEndian(CRC32.checksum(body))
        let headerEnd = 8 + 25
        return Array(png[..<headerEnd]) + chunk + Array(png[headerEnd...])
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// Reads any PNG as 8-bit RGB (libpng converts other formats; alpha is composited on black).
    /// - Throws: ``DemoModelError/png(path:reason:)`` for a missing or malformed file.
    public static func read(_ path: String) throws(DemoModelError) -> RGBImage {
        var control = png_image()
        control.version = png_uint_32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_file(&control, path) != 0 else {
            let message = Self.message(of: &control)
            png_image_free(&control)
            throw .png(path: path, reason: message.isEmpty ? "libpng could not open the file" : message)
        }
        control.format = png_uint_32(PNG_FORMAT_RGB)
        let (width, height) = (Int(control.width), Int(control.height))
        var bytes = [UInt8](repeating: 0, count: width * height * 3)
        let finished = bytes.withUnsafeMutableBytes { buffer in
            png_image_finish_read(&control, nil, buffer.baseAddress, png_int_32(width * 3), nil)
        }
        let message = Self.message(of: &control)
        png_image_free(&control)
        guard finished != 0 else { throw .png(path: path, reason: message.isEmpty ? "libpng could not decode the file" : message) }
        return RGBImage(width: width, height: height, bytes: bytes)
    }

    /// libpng's `message` field as text.
    static func message(of control: inout png_image) -> String {
        withUnsafeBytes(of: &control.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// The CRC-32 of PNG chunks (ISO 3309, polynomial 0xEDB88320, as the PNG specification's sample code).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
