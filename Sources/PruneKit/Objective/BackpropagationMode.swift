/// How the end-to-end objective obtains its gradient through the denoising trajectory.
public enum BackpropagationMode: String, Sendable, Codable, CaseIterable {
    /// Time-step gradient checkpointing (DESIGN decision 4): a no-gradient pass keeps only the latent
    /// entering each step; the reverse loop recomputes one step at a time on the tape, back-propagates the
    /// incoming latent gradient and frees the step. Memory: one step's activations plus T latents;
    /// compute: about two forward passes and one backward.
    case checkpointed
    /// The whole trajectory recorded on one tape and one backward. Memory grows with the step count; for
    /// comparison and small models.
    case fullTape
}
