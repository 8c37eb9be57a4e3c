import PruneTensor
import Testing

@Suite("Gradients match central differences")
struct GradientCheckTests {
    @Test("the analytic gradient of each table entry matches central differences", arguments: GradientCheckTable.all)
    func gradientMatchesFiniteDifferences(_ entry: GradientCase) {
        checkGradients(of: entry.forward, at: entry.makeInputs(), weightsSeed: stableSeed(entry.name) &+ 1, options: entry.options)
    }

    @Test("the table records every op kind the engine defines")
    func everyOpKindHasAGradientCheck() {
        var covered = Set<OpKind>()
        for entry in GradientCheckTable.all {
            let output = entry.forward(entry.makeInputs())
            let kinds = recordedOpKinds(from: output)
            #expect(!kinds.isEmpty, "entry \"\(entry.name)\" records no op")
            covered.formUnion(kinds)
        }
        let missing = Set(OpKind.allCases).subtracting(covered)
        #expect(missing.isEmpty, "op kinds without a gradient check: \(missing.map(\.rawValue).sorted())")
        #expect(covered == Set(OpKind.allCases))
    }

    @Test("every unary function has its own op kind")
    func everyUnaryFunctionHasAnOpKind() {
        for function in UnaryFunction.allCases {
            #expect(OpKind(rawValue: function.rawValue) != nil, "\(function) has no OpKind")
            let x = Tensor([0.5], shape: [1], requiresGradient: true)
            #expect(x.applying(function).op?.kind.rawValue == function.rawValue)
        }
    }

    @Test("the checker reports a wrong gradient")
    func checkerCatchesWrongGradient() {
        // x · detached(x): backward sees one factor (∂ = x) while the central difference sees x² (∂ = 2x).
        withKnownIssue("the analytic gradient is deliberately half the true one") {
            checkGradients(of: { $0[0] * $0[0].detached() }, at: [Tensor([1, 2, -3], shape: [3], requiresGradient: true)])
        }
    }

    @Test("the checker walks recorded graphs and skips only non-smooth points")
    func checkerInternals() {
        let x = Tensor([0.5], shape: [1], requiresGradient: true)
        #expect(recordedOpKinds(from: (x.exp() + x).relu().sum()) == [.exp, .add, .relu, .sum])
        #expect(recordedOpKinds(from: x).isEmpty)
        // relu exactly at its kink: the one-sided slopes disagree, so the point is skipped, not failed.
        var options = GradientCheckOptions.nonSmooth
        options.maximumSkipped = 1
        checkGradients(of: { $0[0].relu() }, at: [Tensor([0, 1], shape: [2], requiresGradient: true)], options: options)
    }

    @Test("entry names are unique, so every entry gets its own seed")
    func entryNamesAreUnique() {
        let names = GradientCheckTable.all.map(\.name)
        #expect(Set(names).count == names.count)
    }
}
