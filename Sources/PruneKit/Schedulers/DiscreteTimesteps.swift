/// Timestep placement shared by the discrete schedulers (diffusers `set_timesteps`, NumPy semantics).
enum DiscreteTimesteps {
    /// The timesteps for `steps` inference steps out of `trainSteps`, in sampling order (descending).
    ///
    /// - `linspace`: `np.linspace(0, T−1, n)[::-1]`, rounded half-to-even when `roundLinspace` (DDIM),
    ///   fractional otherwise (Euler);
    /// - `leading`: `round(arange(n) · (T // n))[::-1] + steps_offset`;
    /// - `trailing`: `round(np.arange(T, 0, −T/n)) − 1` (can hold `n + 1` values, as in NumPy).
    static func make(
        spacing: TimestepSpacing, steps: Int, trainSteps: Int, stepsOffset: Int, roundLinspace: Bool
    ) -> [Double] {
        switch spacing {
        case .linspace:
            let values = NumPy.linspace(0, Double(trainSteps - 1), count: steps)
            return (roundLinspace ? values.map(NumPy.round) : values).reversed()
        case .leading:
            let ratio = trainSteps / steps
            return (0..<steps).reversed().map { Double($0 * ratio + stepsOffset) }
        case .trailing:
            let ratio = Double(trainSteps) / Double(steps)
            return NumPy.arange(Double(trainSteps), 0, step: -ratio).map { NumPy.round($0) - 1 }
        }
    }

    /// `np.interp(timesteps, arange(T), sigmas)` in float64. Shape: `[timesteps.count]`.
    static func interpolatedSigmas(at timesteps: [Double], table: [Float]) -> [Double] {
        let wide = table.map(Double.init)
        return timesteps.map { NumPy.interpolate($0, table: wide) }
    }
}
