import Foundation
import PruneFlux
import PruneNN
import PruneTensor
import PruneTestSupport

/// One FLUX case of `Tests/Fixtures` (made by `Tests/Fixtures/make_fixtures.py` with diffusers 0.42.1):
/// the diffusers model directory plus `inputs`, `masks`, `expected` and `sampling` safetensors files.
struct FluxFixture: CustomStringConvertible, Sendable {
    /// The cases every fixture-driven test runs on.
    static let all = [FluxFixture(name: "flux-tiny"), FluxFixture(name: "flux-small")]

    let name: String
    var description: String { name }

    /// `Tests/Fixtures/<name>`.
    var directory: String { Fixtures.path(name) }

    func file(_ name: String) throws -> SafetensorsFile {
        try SafetensorsFile.open(URL(fileURLWithPath: directory).appendingPathComponent("\(name).safetensors").path)
    }

    /// The diffusers model of this case, loaded through ``FluxModelLoader/load(directory:widths:)``.
    func loadModel() throws -> LoadedFluxModel { try FluxModelLoader.load(directory: directory) }

    /// The forward inputs (`hidden_states` `[2, N, in]`, `encoder_hidden_states` `[2, T, joint]`,
    /// `pooled_projections` `[2, pooled]`, `timestep` `[2]`, `img_ids` `[N, 3]`, `txt_ids` `[T, 3]`,
    /// `guidance` `[2]` when guided).
    func inputs() throws -> FluxInputs {
        let file = try file("inputs")
        return FluxInputs(
            hiddenStates: try file.tensor("hidden_states"), encoderHiddenStates: try file.tensor("encoder_hidden_states"),
            pooledProjections: try file.tensor("pooled_projections"), timestep: try file.tensor("timestep"),
            imageIDs: try file.tensor("img_ids"), textIDs: try file.tensor("txt_ids"),
            guidance: file.contains("guidance") ? try file.tensor("guidance") : nil)
    }

    /// A tensor of `expected.safetensors` (`output`, `output_f64`, `masked_output`, `grad.*`, …), as float32.
    func expected(_ key: String) throws -> Tensor { try file("expected").tensor(key) }

    /// The names of the weights whose gradients `expected.safetensors` holds (`__metadata__["grad_weights"]`).
    func gradientWeightKeys() throws -> [String] {
        let text = try file("expected").metadata["grad_weights"] ?? "[]"
        return try JSONDecoder().decode([String].self, from: Data(text.utf8))
    }

    /// `[key, units, kind]` of every maskable module (`masks.safetensors` `__metadata__["modules"]`).
    func maskModules() throws -> [(key: String, units: Int, kind: String)] {
        let text = try file("masks").metadata["modules"] ?? "[]"
        let rows = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[Any]] ?? []
        return rows.map { ($0[0] as! String, $0[1] as! Int, $0[2] as! String) }
    }

    /// The fixture's masks as fresh (writable) leaves, optionally requiring gradients.
    func masks(requiringGradient: Bool = false) throws -> UnitMasks {
        let file = try file("masks")
        var masks = UnitMasks()
        for key in file.keys where key.hasPrefix(UnitMasks.filePrefix) {
            let mask = try file.tensor(key).converted(to: .float32)
            mask.requiresGradient = requiringGradient
            masks[String(key.dropFirst(UnitMasks.filePrefix.count))] = mask
        }
        return masks
    }
}

/// The inputs of one FLUX forward call.
extension FluxInputs {
    /// `model(...)` on these inputs (unchecked shapes: the fixtures are known to fit).
    func run(_ model: FluxTransformer2DModel, masks: UnitMasks = .none) -> Tensor {
        model(
            hiddenStates: hiddenStates, encoderHiddenStates: encoderHiddenStates, pooledProjections: pooledProjections,
            timestep: timestep, imageIDs: imageIDs, textIDs: textIDs, guidance: guidance, masks: masks)
    }
}

/// Both relative errors for the report: the fixtures' `max|a − b| / max|b|` (`maximumRelativeError`) and
/// the element-wise `max |a − b| / max(|b|, 1e-3·max|b|)`.
func errorSummary(_ actual: Tensor, _ expected: Tensor) -> String {
    "max|Δ|/max|ref| \(maximumRelativeError(actual, expected)), element-wise \(elementwiseRelativeError(actual, expected))"
}

/// `max |a − b| / max(|b|, 1e-3 · max|b|)`.
func elementwiseRelativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    let (a, b) = (actual.scalars(), expected.scalars())
    let floor = max(b.reduce(Float(0)) { max($0, abs($1)) } * 1e-3, 1e-30)
    return zip(a, b).reduce(Float(0)) { max($0, abs($1.0 - $1.1) / max(abs($1.1), floor)) }
}
