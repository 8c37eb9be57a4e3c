import PrunePluginKit

/// A DiT's hyper-parameters, as the `config.json` of an export records them (`_class_name` "DiT").
struct DiTConfiguration {
    var patchSize: Int
    var inChannels: Int
    var hiddenSize: Int
    var depth: Int
    var numHeads: Int
    var mlpRatio: Int
    var numClasses: Int
    var learnSigma: Bool
    var frequencyEmbeddingSize: Int

    /// Output channels: the noise prediction, plus the variance channels when `learn_sigma`.
    var outChannels: Int { learnSigma ? inChannels * 2 : inChannels }
    var headDimension: Int { hiddenSize / numHeads }

    /// Reads the configuration through the host.
    init(_ builder: ModelBuilderView) throws {
        patchSize = try builder.configInt("patch_size")
        inChannels = try builder.configInt("in_channels")
        hiddenSize = try builder.configInt("hidden_size")
        depth = try builder.configInt("depth")
        numHeads = try builder.configInt("num_heads")
        mlpRatio = try builder.configInt("mlp_ratio")
        numClasses = try builder.configInt("num_classes")
        learnSigma = try builder.configInt("learn_sigma") != 0
        frequencyEmbeddingSize = try builder.configInt("frequency_embedding_size")
        guard patchSize >= 1, inChannels >= 1, depth >= 0, numHeads >= 1, hiddenSize % numHeads == 0, mlpRatio >= 1,
            numClasses == DiTArchitecture.classCount, frequencyEmbeddingSize >= 2, frequencyEmbeddingSize % 2 == 0,
            hiddenSize % 4 == 0
        else {
            throw PluginFailure.invalidArgument(
                "DiT configuration: patch \(patchSize), channels \(inChannels), hidden \(hiddenSize) (divisible by 4 and by \(numHeads) heads), mlp_ratio \(mlpRatio), num_classes \(numClasses) (must be \(DiTArchitecture.classCount)), frequency_embedding_size \(frequencyEmbeddingSize) (even)")
        }
    }

    /// The JSON of a preset.
    static func json(hidden: Int, depth: Int, heads: Int, patch: Int = 2, frequency: Int = 256) -> String {
        """
        {"_class_name": "DiT", "patch_size": \(patch), "in_channels": 4, "hidden_size": \(hidden), "depth": \(depth), \
        "num_heads": \(heads), "mlp_ratio": 4, "num_classes": \(DiTArchitecture.classCount), "learn_sigma": true, \
        "frequency_embedding_size": \(frequency)}
        """
    }
}
