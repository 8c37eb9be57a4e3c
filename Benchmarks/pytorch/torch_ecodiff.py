"""EcoDiff's mask-learning iteration in PyTorch, mirroring PruneKit's `EcoDiffObjective` step for step.

One iteration for one prompt:
  1. the unmasked model's final latents from the noise (no gradients): the target;
  2. the masked trajectory with `torch.utils.checkpoint` around every denoising step, so only the latents
     entering each step are kept and each step is recomputed during backward (time-step gradient
     checkpointing, PruneKit's DESIGN decision 4);
  3. loss = MSE(final latents, target) + beta * R(lambda), backward to lambda;
  4. one AdamW step on lambda with EcoDiff's per-kind learning rates.

Masks are hard-concrete gates of lambda with the uniform draws PruneKit wrote for every (step, module), so
both sides evaluate the same objective. Schedules come from diffusers' own schedulers with the
configurations of PruneKit's presets (`sdxl-base`: Euler, leading spacing, CFG on a [negative, positive]
batch with zero negative embeddings; `flux-dev`: flow-match with dynamic shift and embedded guidance).
"""
import json

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from diffusers import EulerDiscreteScheduler, FlowMatchEulerDiscreteScheduler

SCHEDULERS = {
    # PruneKit SchedulerPreset.sdxlBase = SDXL base's scheduler config.
    "sdxl-base": (EulerDiscreteScheduler, dict(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        prediction_type="epsilon", interpolation_type="linear", steps_offset=1, timestep_spacing="leading",
        use_karras_sigmas=False)),
    # PruneKit SchedulerPreset.fluxDev = FLUX.1-dev's scheduler config.
    "flux-dev": (FlowMatchEulerDiscreteScheduler, dict(
        num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
        base_image_seq_len=256, max_image_seq_len=4096)),
}


def calculate_shift(tokens, base_tokens, max_tokens, base_shift, max_shift):
    """FluxPipeline's `calculate_shift` (not imported: its module needs `transformers`): mu grows linearly
    from base_shift at base_tokens image tokens to max_shift at max_tokens."""
    slope = (max_shift - base_shift) / (max_tokens - base_tokens)
    return tokens * slope + base_shift - slope * base_tokens


class TrajectoryError(Exception):
    """The trajectory file asks for something this mirror does not implement."""


def sdxl_forward(model, inputs):
    return model(
        inputs["sample"], inputs["timestep"], encoder_hidden_states=inputs["encoder_hidden_states"],
        added_cond_kwargs={"text_embeds": inputs["text_embeds"], "time_ids": inputs["time_ids"]}).sample


def flux_forward(model, inputs):
    return model(
        hidden_states=inputs["hidden_states"], encoder_hidden_states=inputs["encoder_hidden_states"],
        pooled_projections=inputs["pooled_projections"], timestep=inputs["timestep"], img_ids=inputs["img_ids"],
        txt_ids=inputs["txt_ids"], guidance=inputs.get("guidance")).sample


class Trajectory:
    """A fixed denoising trajectory: `initial(noise)` and `step(latents, index)` (masks come from the slot)."""

    def __init__(self, model, kind, tensors, settings):
        name = settings["scheduler"]
        if name not in SCHEDULERS:
            raise TrajectoryError(f"scheduler preset {name!r} is not mirrored (known: {sorted(SCHEDULERS)})")
        cls, config = SCHEDULERS[name]
        scheduler = cls(**config)
        steps, guidance = settings["steps"], float(settings["guidance_scale"])
        height, width = settings["height"], settings["width"]
        self.model, self.kind, self.steps = model, kind, steps
        prompt, pooled = tensors["prompt_embeds"], tensors["pooled_prompt_embeds"]
        if kind == "sdxl":
            scheduler.set_timesteps(steps)
            self.init_sigma = float(scheduler.init_noise_sigma)
            self.guidance = guidance
            self.cfg = guidance > 1
            time_ids = torch.tensor([[height, width, 0, 0, height, width]], dtype=torch.float32)
            if self.cfg:
                self.context = torch.cat([torch.zeros_like(prompt), prompt])
                self.text_embeds = torch.cat([torch.zeros_like(pooled), pooled])
                self.time_ids = torch.cat([time_ids, time_ids])
            else:
                self.context, self.text_embeds, self.time_ids = prompt, pooled, time_ids
        else:
            rows, columns = 2 * (height // 16), 2 * (width // 16)
            tokens = (rows // 2) * (columns // 2)
            sigmas = np.linspace(1.0, 1 / steps, steps)
            mu = calculate_shift(tokens, config["base_image_seq_len"], config["max_image_seq_len"],
                                 config["base_shift"], config["max_shift"])
            scheduler.set_timesteps(sigmas=sigmas, mu=mu)
            self.init_sigma = 1.0
            self.context, self.pooled = prompt, pooled
            self.img_ids = image_ids(rows // 2, columns // 2)
            self.txt_ids = torch.zeros(prompt.shape[1], 3)
            self.guidance = torch.full([1], guidance, dtype=torch.float32) if model.config.guidance_embeds else None
        self.timesteps = scheduler.timesteps
        self.sigmas = scheduler.sigmas

    def initial(self, noise):
        return noise * self.init_sigma

    def step(self, latents, index):
        sigma, next_sigma = self.sigmas[index], self.sigmas[index + 1]
        t = self.timesteps[index]
        if self.kind == "sdxl":
            batch = torch.cat([latents, latents]) if self.cfg else latents
            scaled = batch / ((sigma ** 2 + 1) ** 0.5)
            eps = self.model(scaled, t, encoder_hidden_states=self.context,
                             added_cond_kwargs={"text_embeds": self.text_embeds, "time_ids": self.time_ids}).sample
            if self.cfg:
                eps = eps[:1] + self.guidance * (eps[1:] - eps[:1])
            return latents + eps * (next_sigma - sigma)
        velocity = self.model(hidden_states=latents, timestep=t.expand(latents.shape[0]).to(latents.dtype) / 1000,
                              guidance=self.guidance, pooled_projections=self.pooled,
                              encoder_hidden_states=self.context, txt_ids=self.txt_ids, img_ids=self.img_ids).sample
        return latents + (next_sigma - sigma) * velocity


def image_ids(rows, columns):
    """FLUX image token positions [rows * columns, 3]: (0, row, column)."""
    ids = torch.zeros(rows, columns, 3)
    ids[..., 1] += torch.arange(rows)[:, None]
    ids[..., 2] += torch.arange(columns)[None, :]
    return ids.reshape(rows * columns, 3)


class MaskLearner:
    """lambda per module, hard-concrete masks per step, the penalty, and AdamW, as PruneKit's EcoDiff settings say."""

    def __init__(self, modules, settings, uniforms):
        self.settings = settings
        self.modules = modules  # [(key, units, kind)]
        init = float(settings["initial_lambda"])
        self.lambdas = {key: torch.full([units], init, requires_grad=True) for key, units, _ in modules}
        delta = float(settings["noise_bound"])
        # The logistic noise of every draw, computed once (PruneKit: HardConcrete.logisticNoise).
        self.noise = {name: torch.log(u + delta) - torch.log(1 - u + delta) for name, u in uniforms.items()}
        groups = {}
        for key, _, kind in modules:
            groups.setdefault(kind, []).append(self.lambdas[key])
        rates = settings["learning_rates"]
        self.optimizer = torch.optim.AdamW(
            [{"params": params, "lr": rates[kind]} for kind, params in groups.items()],
            betas=tuple(settings["betas"]), eps=settings["epsilon"], weight_decay=settings["weight_decay"])

    def masks(self, step):
        s = self.settings
        temperature, lower, upper = s["temperature"], s["stretch_lower"], s["stretch_upper"]
        return {key: (torch.sigmoid((lam + self.noise[f"u.{step}.{key}"]) / temperature) * (upper - lower) + lower).clamp(0, 1)
                for key, lam in self.lambdas.items()}

    def penalty(self):
        spec = self.settings["penalty"]
        by_kind = {}
        for key, _, kind in self.modules:
            if kind not in self.settings["penalized_kinds"]:
                continue
            lam = self.lambdas[key]
            term = lam.abs().mean() if spec["kind"] == "l1_lambda" else torch.sigmoid(spec["scale"] * lam + spec["shift"]).mean()
            by_kind.setdefault(kind, []).append(term)
        return sum(torch.stack(terms).mean() for terms in by_kind.values())


def iteration(trajectory, learner, slot, noise):
    """One mask-learning iteration; returns (loss, reconstruction, penalty, {key: lambda gradient before the step})."""
    with torch.no_grad():
        slot.masks = None
        latents = trajectory.initial(noise)
        for index in range(trajectory.steps):
            latents = trajectory.step(latents, index)
        target = latents

    def masked_step(latents, index):
        slot.masks = learner.masks(index)
        return trajectory.step(latents, index)

    latents = trajectory.initial(noise)
    for index in range(trajectory.steps):
        latents = checkpoint(masked_step, latents, index, use_reentrant=False)
    reconstruction = F.mse_loss(latents, target)
    penalty = learner.penalty()
    loss = reconstruction + learner.settings["penalty_weight"] * penalty
    loss.backward()
    slot.masks = None
    gradients = {key: lam.grad.detach().clone() for key, lam in learner.lambdas.items()}
    learner.optimizer.step()
    learner.optimizer.zero_grad(set_to_none=True)
    return loss.item(), reconstruction.item(), penalty.item(), gradients


def parse_metadata(metadata, name, path):
    """The JSON value of `__metadata__[name]` of a safetensors file, or TrajectoryError naming it."""
    if name not in metadata:
        raise TrajectoryError(f"{path}: __metadata__ has no {name!r}")
    return json.loads(metadata[name])
