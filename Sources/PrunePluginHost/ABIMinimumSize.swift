import CPrunePlugin

/// The smallest size ABI 1 accepts for each plugin-written struct: up to the end of its last ABI-1 field
/// (the header's `PRUNE_*_MIN_SIZE` macros, which Swift cannot import). Structs from plugins built
/// against later headers are larger; the host reads only the fields it knows.
enum ABIMinimumSize {
    static let descriptor = MemoryLayout<prune_plugin_descriptor>.offset(of: \.hook_count)! + MemoryLayout<Int32>.size
    static let criterion = MemoryLayout<prune_criterion>.offset(of: \.score)! + MemoryLayout<UnsafeRawPointer>.size
    static let architecture = MemoryLayout<prune_architecture>.offset(of: \.release_model)! + MemoryLayout<UnsafeRawPointer>.size
    static let preset = MemoryLayout<prune_preset>.offset(of: \.width)! + MemoryLayout<Int32>.size
    /// ABI 1's first services table (`PRUNE_HOST_SERVICES_MIN_SIZE`); the host's own table is larger by the services
    /// appended since (`builder_block_depth_key`), which a plugin checks with `PRUNE_HAS_FIELD` before calling.
    static let hostServices = MemoryLayout<prune_host_services>.offset(of: \.scoring_progress)! + MemoryLayout<UnsafeRawPointer>.size
}
