/// Which calibration prompts this process holds, of how many in all: prompt `p` belongs to rank `p % size`
/// (round-robin, so every optimizer step's prompts spread over the ranks; with 3 ranks and 4 prompts per step
/// the shards are uneven, which is allowed).
public struct CalibrationShard: Sendable {
    public var group: any ProcessGroup
    /// Calibration prompts over all ranks.
    public var promptCount: Int

    public init(group: any ProcessGroup, promptCount: Int) {
        self.group = group
        self.promptCount = promptCount
    }

    /// One process holding all `promptCount` prompts.
    public static func single(promptCount: Int) -> CalibrationShard {
        CalibrationShard(group: SingleProcessGroup.shared, promptCount: promptCount)
    }

    /// The rank that computes prompt `prompt`'s sample and gradients.
    public func owner(ofPrompt prompt: Int) -> Int { prompt % group.size }
    /// This rank's prompts, ascending: the global indices of its calibration samples, in order.
    public var ownedPrompts: [Int] { Array(stride(from: group.rank, to: promptCount, by: group.size)) }
    /// The position of `prompt` among this rank's samples (it must be owned here).
    public func localIndex(ofPrompt prompt: Int) -> Int { prompt / group.size }
}
