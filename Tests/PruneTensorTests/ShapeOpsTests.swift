import PruneTensor
import Testing

// Views share storage; copies produce the right elements in the right order.

@Suite("Shape operations")
struct ShapeOpsTests {
    let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])

    @Test("reshaping a contiguous tensor is a view; a wildcard extent is inferred")
    func reshapeIsView() {
        let r = x.reshaped([6, -1])
        #expect(r.shape == [6, 4])
        #expect(r.storage === x.storage)
        #expect(r.scalars() == x.scalars())
        #expect(x.reshaped([2, 3, 4]) === x)
    }

    @Test("reshaping a permuted tensor copies in the permuted order")
    func reshapePermuted() {
        let r = x.permuted([1, 0, 2]).reshaped([3, 8])
        #expect(r.storage !== x.storage)
        #expect(r.scalars() == [0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23])
    }

    @Test("permute and transpose are views with permuted elements")
    func permuteAndTranspose() {
        let p = x.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        #expect(p.storage === x.storage)
        #expect(!p.isContiguous)
        // p[i, j, k] = x[j, k, i].
        #expect(Array(p.scalars().prefix(6)) == [0, 4, 8, 12, 16, 20])
        let t = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).transposed()
        #expect(t.shape == [3, 2])
        #expect(t.scalars() == [1, 4, 2, 5, 3, 6])
        #expect(x.permuted([0, 1, 2]) === x)
    }

    @Test("contiguous() copies a permuted tensor and returns a contiguous one as is")
    func contiguousCopy() {
        #expect(x.contiguous() === x)
        let p = x.transposed(0, 2)
        let c = p.contiguous()
        #expect(c.isContiguous)
        #expect(c.storage !== x.storage)
        #expect(c.scalars() == p.scalars())
        #expect(c.shape == [4, 3, 2])
    }

    @Test("slicing is a view at an offset")
    func slicing() {
        let s = x.sliced(axis: 1, 1..<3)
        #expect(s.shape == [2, 2, 4])
        #expect(s.storage === x.storage)
        #expect(s.scalars() == [4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23])
        #expect(x.sliced(axis: -1, 3..<4).scalars() == [3, 7, 11, 15, 19, 23])
        #expect(x.sliced(axis: 0, 0..<2) === x)
    }

    @Test("split and chunked cover the axis in order")
    func splitAndChunk() {
        let parts = x.split(sizes: [1, 3], axis: -1)
        #expect(parts.map(\.shape) == [[2, 3, 1], [2, 3, 3]])
        #expect(parts[0].scalars() == [0, 4, 8, 12, 16, 20])
        let chunks = x.chunked(3, axis: 1)
        #expect(chunks.count == 3)
        #expect(chunks[2].scalars() == [8, 9, 10, 11, 20, 21, 22, 23])
        #expect(concatenate(chunks, axis: 1).scalars() == x.scalars())
    }

    @Test("indexSelect picks entries in the given order, repeats included")
    func indexSelect() {
        let picked = x.indexSelect(axis: 1, indices: [2, 0, 2])
        #expect(picked.shape == [2, 3, 4])
        #expect(Array(picked.scalars().prefix(12)) == [8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11])
        #expect(x.transposed().indexSelect(axis: 2, indices: [1]).scalars() == [4, 5, 6, 7, 16, 17, 18, 19])
    }

    @Test("concatenate joins 3 parts along the middle axis")
    func concatenateMiddleAxis() {
        let a = Tensor([1, 2], shape: [2, 1, 1])
        let b = Tensor([3, 4, 5, 6], shape: [2, 2, 1])
        let c = Tensor([7, 8], shape: [1, 2, 1]).transposed(0, 1)  // a strided part, [2, 1, 1]
        let joined = concatenate([a, b, c], axis: 1)
        #expect(joined.shape == [2, 4, 1])
        #expect(joined.scalars() == [1, 3, 4, 7, 2, 5, 6, 8])
    }

    @Test("padded fills the border with the value and keeps the interior")
    func padded() {
        let p = Tensor([1, 2, 3, 4], shape: [2, 2]).padded([(1, 0), (1, 2)], value: -1)
        #expect(p.shape == [3, 5])
        #expect(p.scalars() == [-1, -1, -1, -1, -1, -1, 1, 2, -1, -1, -1, 3, 4, -1, -1])
        // Missing trailing entries mean no padding.
        #expect(Tensor([1, 2], shape: [1, 2]).padded([(1, 1)]).scalars() == [0, 0, 1, 2, 0, 0])
    }

    @Test("upsampledNearest2x repeats every pixel into a 2×2 block")
    func upsample() {
        let image = Tensor([1, 2, 3, 4], shape: [1, 1, 2, 2])
        let up = image.upsampledNearest2x()
        #expect(up.shape == [1, 1, 4, 4])
        #expect(up.scalars() == [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        let channelsLast = Tensor([1, 10, 2, 20], shape: [1, 1, 2, 2]).permuted([0, 3, 1, 2])  // [1, 2, 1, 2]
        #expect(channelsLast.upsampledNearest2x().scalars() == [1, 1, 2, 2, 1, 1, 2, 2, 10, 10, 20, 20, 10, 10, 20, 20])
    }

    @Test("scalars() and item() read views and rank-0 tensors")
    func reading() {
        #expect(Tensor(scalar: 4).item() == 4)
        #expect(Tensor(scalar: 4).shape == [])
        #expect(x.sliced(axis: 2, 1..<2).sliced(axis: 1, 2..<3).sliced(axis: 0, 1..<2).item() == 21)
    }
}
