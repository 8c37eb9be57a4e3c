import PruneNN

/// One component of a pipeline, wherever it came from (a folder's `unet/`, or the U-Net keys of a
/// single-file checkpoint): its class, its `config.json` dictionary and its tensors in diffusers /
/// transformers names.
///
/// Downstream code treats both origins alike: decode ``configuration`` with the component's own typed
/// configuration (`JSONDecoder().decode(UNetConfiguration.self, from: configuration.jsonData())`) and build the
/// model over ``tensors``.
public struct PipelineComponent {
    /// The slot name (`unet`, `text_encoder_2`, …).
    public var name: String
    /// The class diffusers or transformers would build (`UNet2DConditionModel`, `CLIPTextModelWithProjection`, …).
    public var className: String
    /// The configuration diffusers / transformers would write as `config.json`.
    public var configuration: ComponentConfiguration
    /// The tensors, keyed by diffusers / transformers names; lazy (memory-mapped files, remapped on demand).
    public var tensors: any TensorSource
    /// Where it came from, for messages (a folder, or `file.safetensors#unet`).
    public var origin: String

    public init(name: String, className: String, configuration: ComponentConfiguration, tensors: any TensorSource, origin: String) {
        self.name = name
        self.className = className
        self.configuration = configuration
        self.tensors = tensors
        self.origin = origin
    }
}
