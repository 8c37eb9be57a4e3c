import Foundation
import PruneFlux
import PruneKit
import PruneMPI
import PruneSDXL

/// `mpirun -np N prunekit-bench --only allreduce`: the time of the one all-reduce a data-parallel optimizer step
/// makes (``MaskTrainer/train(_:shard:fromEpoch:prompt:onPrompt:)``: `accumulation × (units + modules + 3)`
/// floats), for the bench models and the real SDXL and FLUX configurations (unit counts from shapes-only
/// layouts, no weights), median of 21 after 5 warm-ups. Rank 0 prints. Without an MPI launcher it says how
/// to run it.
enum AllReduceBenchmark {
    struct Case {
        var name: String
        var units: Int
        var modules: Int
        /// Floats in one step's buffer at EcoDiff's 4 prompts per step.
        var floats: Int { 4 * (units + modules + 3) }
    }

    /// The heads and FFN neurons (prune's default units) of each configuration.
    static func cases() throws -> [Case] {
        var cases: [Case] = []
        for (name, layout) in [
            ("sdxl-bench", try SDXLArchitecture().layout(preset: "sdxl-bench")),
            ("sdxl-base (real)", try SDXLArchitecture().layout(preset: "sdxl-base")),
            ("flux-bench", try FluxArchitecture().layout(preset: "flux-bench")),
            ("flux-dev (real)", try FluxArchitecture().layout(preset: "flux-dev")),
        ] {
            let groups = layout.groups.filter { $0.kind == .attentionHead || $0.kind == .feedForwardNeuron }
            cases.append(Case(name: name, units: groups.reduce(0) { $0 + $1.unitCount }, modules: groups.count))
        }
        return cases
    }

    static func run() -> Never {
        guard MPIProcessGroup.isLaunchedByMPI() else {
            print("allreduce: run under an MPI launcher, e.g. mpirun -np 2 prunekit-bench --only allreduce")
            exit(0)
        }
        do {
            let group = try MPIProcessGroup()
            let cases = try Self.cases()
            if group.isLeader {
                print("all-reduce of one optimizer step's buffer over \(group.size) ranks (MPI_Allreduce, float32, in place), median of 21")
                print("| configuration | units | modules | buffer | ms per step |")
                print("|---|---|---|---|---|")
            }
            for item in cases {
                var buffer = [Float](repeating: 1, count: item.floats)
                var samples: [Double] = []
                for iteration in 0..<26 {
                    let start = DispatchTime.now().uptimeNanoseconds
                    try group.allReduceSum(&buffer)
                    if iteration >= 5 { samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) }
                }
                samples.sort()
                if group.isLeader {
                    print(
                        String(
                            format: "| %@ | %d | %d | %.2f MB | %.3f |", item.name, item.units, item.modules, Double(item.floats * 4) / 1e6,
                            samples[samples.count / 2]))
                }
            }
            group.finalize()
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("prunekit-bench allreduce: \(error)\n".utf8))
            exit(1)
        }
    }
}
