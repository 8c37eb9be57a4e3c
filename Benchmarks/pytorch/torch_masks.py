"""Per-head and per-neuron masks on diffusers models, applied exactly where PruneKit applies them.

- SDXL attention (`attn1`, `attn2`): the merged head outputs [B, S, heads * head_dim] times the head's mask,
  right before `to_out.0`;
- FLUX double-block attention (`attn`): the same before `to_out.0` (image stream) and `to_add_out` (text stream);
- FLUX single-block attention (`attn`, no output projection): its merged head outputs, before the concat
  with the MLP branch that feeds `proj_out`;
- feed-forward (`ff`, `ff_context`): the activation [B, S, inner] before the down projection `net.2`;
- FLUX single-block MLP (`mlp`): the output of `act_mlp`.

The hooks are installed once and read the masks of the current call from a `MaskSlot`, so a denoising loop
can give every step its own masks (and a checkpointed recompute sets them again). With no masks set the
model runs unmasked. This mirrors Tests/Fixtures/make_fixtures.py (`install_masks`), whose goldens PruneKit
matches.
"""
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.transformers.transformer_flux import FluxSingleTransformerBlock, FluxTransformerBlock


class MaskSlot:
    """The masks of the current call: module key -> 1-D tensor, or None for the unmasked model."""

    def __init__(self):
        self.masks = None


def maskable_modules(model):
    """(key, units, kind, module) of every maskable module, in model order."""
    specs = []
    for name, module in model.named_modules():
        if isinstance(module, BasicTransformerBlock):
            for attention in ("attn1", "attn2"):
                specs.append((f"{name}.{attention}", getattr(module, attention).heads, "head", getattr(module, attention)))
            specs.append((f"{name}.ff", module.ff.net[2].in_features, "neuron", module.ff))
        elif isinstance(module, FluxTransformerBlock):
            specs.append((f"{name}.attn", module.attn.heads, "head", module.attn))
            specs.append((f"{name}.ff", module.ff.net[2].in_features, "neuron", module.ff))
            specs.append((f"{name}.ff_context", module.ff_context.net[2].in_features, "neuron", module.ff_context))
        elif isinstance(module, FluxSingleTransformerBlock):
            specs.append((f"{name}.attn", module.attn.heads, "head", module))
            specs.append((f"{name}.mlp", module.proj_mlp.out_features, "neuron", module))
    return specs


def install_masks(model, slot):
    """Registers the hooks that apply `slot.masks`; returns the module specs (key, units, kind, module)."""
    specs = maskable_modules(model)
    for key, units, _, module in specs:
        if isinstance(module, FluxSingleTransformerBlock):
            if key.endswith(".attn"):
                head_dim = module.attn.to_q.out_features // units
                module.attn.register_forward_hook(_scale_output(slot, key, head_dim))
            else:
                module.act_mlp.register_forward_hook(_scale_output(slot, key, 1))
        elif hasattr(module, "to_out"):
            head_dim = module.to_out[0].in_features // units
            module.to_out[0].register_forward_pre_hook(_scale_input(slot, key, head_dim))
            if getattr(module, "to_add_out", None) is not None:
                module.to_add_out.register_forward_pre_hook(_scale_input(slot, key, head_dim))
        else:
            module.net[2].register_forward_pre_hook(_scale_input(slot, key, 1))
    return specs


def _expanded(slot, key, width):
    mask = slot.masks[key]
    return mask if width == 1 else mask.repeat_interleave(width)


def _scale_input(slot, key, width):
    def hook(_module, args):
        if slot.masks is None:
            return None
        return (args[0] * _expanded(slot, key, width),) + tuple(args[1:])
    return hook


def _scale_output(slot, key, width):
    def hook(_module, _args, output):
        if slot.masks is None:
            return None
        return output * _expanded(slot, key, width)
    return hook
