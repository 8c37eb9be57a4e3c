import PruneTensor

/// Draws one shape into an RGB canvas with hard edges (no anti-aliasing), so the analytic checker can
/// recover every attribute exactly.
///
/// Geometry for a shape of radius `r` centred at `(cx, cy)`, testing pixel centres `(x + ½, y + ½)`:
/// - circle: distance to the centre ≤ r;
/// - square: |dx| ≤ r and |dy| ≤ r (side 2r);
/// - triangle: apex at `(cx, cy − r)`, base from `(cx − r, cy + r)` to `(cx + r, cy + r)` (pointing up, so
///   its top half holds far fewer pixels than its bottom half).
public enum ShapeRenderer {
    /// Whether the pixel centre `(px, py)` lies inside the shape.
    public static func contains(_ shape: ShapeKind, centerX cx: Float, centerY cy: Float, radius r: Float, px: Float, py: Float) -> Bool {
        let (dx, dy) = (px - cx, py - cy)
        switch shape {
        case .circle:
            return dx * dx + dy * dy <= r * r
        case .square:
            return Swift.abs(dx) <= r && Swift.abs(dy) <= r
        case .triangle:
            guard dy >= -r, dy <= r else { return false }
            // Half-width grows linearly from 0 at the apex (dy = −r) to r at the base (dy = r).
            let halfWidth = (dy + r) / 2
            return Swift.abs(dx) <= halfWidth
        }
    }

    /// Paints the shape into `pixels` (`[3, size, size]`, channel-major) with colour `rgb`.
    public static func draw(
        _ shape: ShapeKind, centerX: Float, centerY: Float, radius: Float, rgb: (Float, Float, Float),
        into pixels: inout [Float], size: Int
    ) {
        let plane = size * size
        let low = { (c: Float) in Swift.max(0, Int((c - radius - 1).rounded(.down))) }
        let high = { (c: Float) in Swift.min(size - 1, Int((c + radius + 1).rounded(.up))) }
        for y in low(centerY)...high(centerY) {
            for x in low(centerX)...high(centerX)
            where contains(shape, centerX: centerX, centerY: centerY, radius: radius, px: Float(x) + 0.5, py: Float(y) + 0.5) {
                let index = y * size + x
                pixels[index] = rgb.0
                pixels[plane + index] = rgb.1
                pixels[2 * plane + index] = rgb.2
            }
        }
    }
}
