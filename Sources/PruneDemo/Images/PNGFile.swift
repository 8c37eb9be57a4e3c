import CPNG
import Foundation

/// Reads and writes 8-bit RGB PNG files through libpng's simplified API.
public enum PNGFile {
    /// Writes `image` to `path` atomically: the bytes go to a temporary file in the same directory, which is
    /// renamed over `path` only once complete.
    /// - Throws: ``DemoModelError/png(path:reason:)`` with libpng's message or the file-system error.
    public static func write(_ image: RGBImage, to path: String) throws(DemoModelError) {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))").path
        var control = png_image()
        control.version = png_uint_32(PNG_IMAGE_VERSION)
        control.width = png_uint_32(image.width)
        control.height = png_uint_32(image.height)
        control.format = png_uint_32(PNG_FORMAT_RGB)
        let written = image.bytes.withUnsafeBytes { buffer in
            png_image_write_to_file(&control, temporary, 0, buffer.baseAddress, png_int_32(image.width * 3), nil)
        }
        let message = Self.message(of: &control)
        png_image_free(&control)
        guard written != 0 else {
            unlink(temporary)
            throw .png(path: path, reason: message.isEmpty ? "libpng could not write the file" : message)
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .png(path: path, reason: "cannot move the written file into place: \(reason)")
        }
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
