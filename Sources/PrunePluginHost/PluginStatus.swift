import CPrunePlugin

/// Names of the ABI's status codes.
public enum PluginStatus {
    /// "ok", "invalid argument", … (from `prune_status_name`).
    public static func name(_ status: Int32) -> String { String(cString: prune_status_name(status)) }
}
