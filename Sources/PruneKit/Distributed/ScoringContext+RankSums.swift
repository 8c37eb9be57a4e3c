extension ScoringContext {
    /// Sums per-module statistics over the ranks of ``calibrationShard`` (a no-op for one process): what a
    /// calibration criterion calls once its own prompts are done, so every rank ends with the statistics of all
    /// prompts. Every rank must hold the same keys with vectors of the same lengths.
    /// - Throws: ``ProcessGroupError`` when the keys or lengths differ between ranks or the transport fails.
    public func sumOverRanks(_ statistics: inout [String: [Double]]) throws {
        let group = calibrationShard.group
        guard group.isDistributed else { return }
        let keys = statistics.keys.sorted()
        // Every rank must flatten the same modules and lengths: check the counts first.
        let layout = [Double(keys.count), Double(keys.reduce(0) { $0 + statistics[$1]!.count })]
        var summedLayout = layout
        try group.allReduceSum(&summedLayout)
        guard summedLayout == layout.map({ $0 * Double(group.size) }) else {
            throw ProcessGroupError(
                operation: "statistics sum", reason: "ranks hold different statistics (\(keys.count) modules, \(Int(layout[1])) values on rank \(group.rank))")
        }
        var flat = keys.flatMap { statistics[$0]! }
        try group.allReduceSum(&flat)
        var offset = 0
        for key in keys {
            let count = statistics[key]!.count
            statistics[key] = Array(flat[offset..<(offset + count)])
            offset += count
        }
    }
}
