import PruneKit
import Testing

/// The round-robin split of calibration prompts over the ranks of a data-parallel run.
@Suite struct CalibrationShardTests {
    /// A group that only knows its place (its collectives are never called here).
    final class Place: ProcessGroup, @unchecked Sendable {
        let rank: Int
        let size: Int
        init(rank: Int, size: Int) {
            self.rank = rank
            self.size = size
        }
        func allReduceSum(_ values: inout [Float]) throws {}
        func allReduceSum(_ values: inout [Double]) throws {}
        func abort(message: String, code: Int32) -> Never { fatalError(message) }
    }

    @Test("Every prompt belongs to exactly one rank, and each rank's samples are its prompts in order", arguments: [1, 2, 3, 4, 7])
    func everyPromptHasOneOwner(size: Int) {
        let prompts = 10
        var owners = [Int](repeating: 0, count: prompts)
        for rank in 0..<size {
            let shard = CalibrationShard(group: Place(rank: rank, size: size), promptCount: prompts)
            for (position, prompt) in shard.ownedPrompts.enumerated() {
                owners[prompt] += 1
                #expect(shard.owner(ofPrompt: prompt) == rank)
                #expect(shard.localIndex(ofPrompt: prompt) == position)
            }
        }
        #expect(owners == [Int](repeating: 1, count: prompts))
    }

    @Test("Three ranks over four prompts per step split them unevenly: rank 0 takes two")
    func unevenShards() {
        let shards = (0..<3).map { CalibrationShard(group: Place(rank: $0, size: 3), promptCount: 4).ownedPrompts }
        #expect(shards == [[0, 3], [1], [2]])
    }

    @Test("A single process holds every prompt and its collectives return their input")
    func singleProcess() throws {
        let shard = CalibrationShard.single(promptCount: 5)
        #expect(shard.ownedPrompts == [0, 1, 2, 3, 4])
        #expect(!shard.group.isDistributed && shard.group.isLeader)
        var values: [Float] = [1, 2]
        try SingleProcessGroup.shared.allReduceSum(&values)
        #expect(values == [1, 2])
    }
}
