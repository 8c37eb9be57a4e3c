import Foundation
import PruneTensor
import PruneTestSupport
import PruneVAE

/// One case under `Tests/Fixtures/vae/` (made by `make_vae_fixtures.py`): the diffusers model folder plus
/// `inputs.safetensors` and `expected.safetensors`.
struct VAEFixture {
    let name: String
    let directory: String
    let inputs: SafetensorsFile
    let expected: SafetensorsFile

    init(_ name: String) throws {
        self.name = name
        directory = Fixtures.path("vae/\(name)")
        inputs = try SafetensorsFile.open(directory + "/inputs.safetensors")
        expected = try SafetensorsFile.open(directory + "/expected.safetensors")
    }

    func input(_ key: String) throws -> Tensor { try inputs.tensor(key) }
    func reference(_ key: String) throws -> Tensor { try expected.tensor(key) }
    func model() throws -> AutoencoderKL { try AutoencoderKL.load(directory: directory) }

    /// The cases every numeric test runs over.
    static let cases = ["sdxl-like", "flux-like", "deep-no-attention", "tiled"]
}

/// The tolerance of every fixture comparison: `max|a − b| / max|b|` (the fixtures' definition).
let fixtureTolerance: Float = 1e-4
