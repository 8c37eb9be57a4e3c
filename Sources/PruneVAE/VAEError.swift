import PruneNN

/// Everything that can go wrong between a VAE's files or inputs and its forward pass.
///
/// The model never traps on bad input: configurations, weights and tensor shapes that come from a caller
/// or a file are checked first and reported here, naming the file or key and what was expected.
public enum VAEError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `config.json` could not be read or is not a JSON object.
    case unreadableConfiguration(path: String, reason: String)
    /// A configuration value is missing its type or out of range.
    case invalidConfiguration(source: String, key: String, reason: String)
    /// The weights do not fit the configuration: every missing, mis-shaped and unexpected key at once.
    case weightsMismatch(CheckpointError)
    /// The weights file(s) could not be found or opened.
    case unreadableWeights(path: String, reason: String)
    /// A tensor handed to the VAE has the wrong rank or channel count (`expected` describes the shape).
    case invalidInput(argument: String, expected: String, actual: [Int])
    /// An image whose height or width is not a multiple of the VAE's downsampling factor.
    case indivisibleImageSize(height: Int, width: Int, factor: Int)
    /// FLUX packed latents whose token count or width does not fit the requested image size.
    case packedLatentsMismatch(shape: [Int], height: Int, width: Int, expectedTokens: Int)

    public var description: String {
        switch self {
        case .unreadableConfiguration(let path, let reason):
            return "cannot read the VAE configuration \(path): \(reason)"
        case .invalidConfiguration(let source, let key, let reason):
            return "\(source): \(key) \(reason)"
        case .weightsMismatch(let error):
            return error.description
        case .unreadableWeights(let path, let reason):
            return "cannot read the VAE weights \(path): \(reason)"
        case .invalidInput(let argument, let expected, let actual):
            return "\(argument) must be \(expected), got shape \(actual)"
        case .indivisibleImageSize(let height, let width, let factor):
            return "image size \(height)×\(width) is not a multiple of the VAE's factor \(factor) in both dimensions"
        case .packedLatentsMismatch(let shape, let height, let width, let expectedTokens):
            return "packed latents of shape \(shape) do not fit a \(height)×\(width) image "
                + "(expected [B, \(expectedTokens), 4·C] with C the VAE's latent channels)"
        }
    }
}
