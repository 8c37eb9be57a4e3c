"""Loading the comparison's models into diffusers, dense or physically pruned.

PruneKit writes every model directory (`config.json` + `diffusion_pytorch_model.safetensors`, float32); this
module builds the diffusers class named by `_class_name` on the meta device, shrinks every Linear whose
stored weight is narrower than the configuration says (a pruned export keeps the original config.json and
records the pruned widths only in the weight shapes), and then assigns the file's memory-mapped tensors to
the parameters. No random initialisation runs and no second copy of the weights is made, which is also how
PruneKit loads a float32 checkpoint.
"""
import json
import os

import torch
from safetensors.torch import load_file

from diffusers import FluxTransformer2DModel, UNet2DConditionModel
from diffusers.models.attention_processor import Attention
from diffusers.models.transformers.transformer_flux import FluxAttention

WEIGHTS = "diffusion_pytorch_model.safetensors"
CLASSES = {"UNet2DConditionModel": UNet2DConditionModel, "FluxTransformer2DModel": FluxTransformer2DModel}


class PrunedModelError(Exception):
    """A model directory that cannot be built as the weights describe."""


def load_model(directory):
    """The diffusers model stored in `directory`, in eval mode with gradients off for every parameter.

    Returns the model; raises PrunedModelError naming the file and key when the weights do not fit.
    """
    config_path = os.path.join(directory, "config.json")
    with open(config_path) as handle:
        config = json.load(handle)
    cls = CLASSES.get(config.get("_class_name"))
    if cls is None:
        raise PrunedModelError(f"{config_path}: _class_name {config.get('_class_name')!r} is not one of {sorted(CLASSES)}")
    with torch.device("meta"):
        model = cls.from_config(config)
    state = load_file(os.path.join(directory, WEIGHTS))
    shrink_to_weights(model, state, os.path.join(directory, WEIGHTS))
    model.load_state_dict(state, strict=True, assign=True)
    for name, buffer in model.named_buffers():
        if buffer.is_meta:
            raise PrunedModelError(f"{directory}: buffer {name} was not loaded (it is not in the checkpoint)")
    model.requires_grad_(False)
    return model.eval()


class ZeroHeadProcessor:
    """The attention of a module whose every head is pruned, as PruneKit runs it: the heads contribute nothing,
    so each output projection yields its bias, and a module without output projection (FLUX's single blocks)
    yields a zero-width attention output for the block to concatenate.

    hidden_states: [B, T, D] (and encoder_hidden_states: [B, S, D] in FLUX's double blocks)."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, image_rotary_emb=None):
        batch, tokens = hidden_states.shape[0], hidden_states.shape[1]
        empty = hidden_states.new_zeros(batch, tokens, 0)
        if getattr(attn, "to_out", None) is None:
            return empty
        output = attn.to_out[1](attn.to_out[0](empty))
        if isinstance(attn, FluxAttention):
            if encoder_hidden_states is None:
                return output
            context = encoder_hidden_states.new_zeros(batch, encoder_hidden_states.shape[1], 0)
            return output, attn.to_add_out(context)
        if attn.residual_connection:
            output = output + hidden_states
        return output / attn.rescale_output_factor


def shrink_to_weights(model, state, path):
    """Replaces every Linear whose stored weight has another shape by one of the stored shape, and sets the
    head count of attention modules whose projections lost heads (diffusers' processors split by it)."""
    modules = dict(model.named_modules())
    for name, module in modules.items():
        if not isinstance(module, torch.nn.Linear):
            continue
        key = f"{name}.weight"
        if key not in state:
            raise PrunedModelError(f"{path}: no tensor named {key}")
        out_features, in_features = state[key].shape
        if (out_features, in_features) == (module.out_features, module.in_features):
            continue
        replacement = torch.nn.Linear(in_features, out_features, bias=module.bias is not None, device="meta")
        parent_name, _, child = name.rpartition(".")
        setattr(modules[parent_name] if parent_name else model, child, replacement)
    for name, module in model.named_modules():
        if isinstance(module, (Attention, FluxAttention)):
            head_dim = module.inner_dim // module.heads
            heads = module.to_q.out_features // head_dim
            module.heads = heads
            module.inner_dim = heads * head_dim
            if heads == 0:
                # diffusers' processors divide by the head count; a module with no heads left runs this instead.
                module.processor = ZeroHeadProcessor()
