import Foundation
import PruneTensor
import Testing

/// Loaded float32 tensors are zero-copy and still writable: updates stay in memory, the file is unchanged.
@Suite struct SafetensorsCopyOnWriteTests {
    @Test("Updating a zero-copy tensor in place leaves the file untouched")
    func inPlaceUpdateDoesNotReachTheFile() throws {
        try SafetensorsFixture.withTemporaryDirectory { directory in
            let path = directory + "/weights.safetensors"
            try SafetensorsWriter.write(["w": Tensor([1, 2, 3, 4], shape: [2, 2])], to: path)
            let before = try SafetensorsFixture.read(path)
            let file = try SafetensorsFile.open(path)
            let weight = try file.tensor("w")
            #expect(file.sharesMemory(with: weight))
            weight.assign(Tensor([5, 6, 7, 8], shape: [2, 2]))
            #expect(weight.scalars() == [5, 6, 7, 8])
            #expect(try SafetensorsFixture.read(path) == before)
            #expect(try SafetensorsFile.open(path).tensor("w").scalars() == [1, 2, 3, 4])
        }
    }
}
