import Foundation

/// `demo.json` of a demo model directory: how it was trained and how well it follows prompts.
public struct DemoModelCard: Codable, Sendable, Equatable {
    public var architecture: DemoArchitecture
    /// The command that reproduces the weights.
    public var trainingCommand: String
    public var training: DemoTrainingSettings
    public var stepsCompleted: Int
    /// Wall-clock seconds in training steps (excluding evaluation).
    public var trainingSeconds: Double
    /// Mean loss over the last 100 steps.
    public var finalLoss: Float
    public var denoiserParameters: Int
    public var textEncoderParameters: Int
    /// The latent space: `pixel_unshuffle_2x2` of [−1, 1] images (see `PixelUnshuffleCodec`).
    public var latentCodec: String = "pixel_unshuffle_2x2"
    public var imageSize: Int = DemoArchitecture.imageSize
    public var sampling: DemoSamplingSettings
    /// Images per prompt in the adherence evaluation (0: not evaluated).
    public var samplesPerPrompt: Int
    public var evaluationSeed: UInt64
    public var adherence: AdherenceReport?
    /// Seconds spent sampling the evaluation images.
    public var evaluationSeconds: Double

    public init(
        architecture: DemoArchitecture, trainingCommand: String, training: DemoTrainingSettings, stepsCompleted: Int,
        trainingSeconds: Double, finalLoss: Float, denoiserParameters: Int, textEncoderParameters: Int,
        sampling: DemoSamplingSettings, samplesPerPrompt: Int, evaluationSeed: UInt64, adherence: AdherenceReport?,
        evaluationSeconds: Double
    ) {
        self.architecture = architecture
        self.trainingCommand = trainingCommand
        self.training = training
        self.stepsCompleted = stepsCompleted
        self.trainingSeconds = trainingSeconds
        self.finalLoss = finalLoss
        self.denoiserParameters = denoiserParameters
        self.textEncoderParameters = textEncoderParameters
        self.sampling = sampling
        self.samplesPerPrompt = samplesPerPrompt
        self.evaluationSeed = evaluationSeed
        self.adherence = adherence
        self.evaluationSeconds = evaluationSeconds
    }

    enum CodingKeys: String, CodingKey {
        case architecture, trainingCommand = "training_command", training, stepsCompleted = "steps_completed"
        case trainingSeconds = "training_seconds", finalLoss = "final_loss", denoiserParameters = "denoiser_parameters"
        case textEncoderParameters = "text_encoder_parameters", latentCodec = "latent_codec", imageSize = "image_size"
        case sampling, samplesPerPrompt = "samples_per_prompt", evaluationSeed = "evaluation_seed", adherence
        case evaluationSeconds = "evaluation_seconds"
    }
}
