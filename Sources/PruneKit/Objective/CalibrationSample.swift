import PruneTensor

/// One calibration prompt for mask learning: its trajectory (schedule, conditioning and guidance bound),
/// the initial noise, and the unmasked model's final latent from that noise.
public struct CalibrationSample<Trajectory: DenoisingTrajectory> {
    public let trajectory: Trajectory
    /// Standard-normal initial noise (SDXL `[B, C, h, w]`, FLUX packed `[B, N, C·4]`).
    public let noise: Tensor
    /// The reconstruction target, shaped like the final latent.
    public let target: Tensor

    public init(trajectory: Trajectory, noise: Tensor, target: Tensor) {
        self.trajectory = trajectory
        self.noise = noise
        self.target = target
    }

    /// Computes the target by running the unmasked trajectory once without gradients.
    /// - Throws: whatever the trajectory's steps throw.
    public init(trajectory: Trajectory, noise: Tensor) throws {
        self.init(trajectory: trajectory, noise: noise, target: try EcoDiffObjective.target(of: trajectory, noise: noise))
    }
}
