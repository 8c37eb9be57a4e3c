"""Shrinking a diffusers denoiser, built at full width on the meta device, to the widths a ``prunekit.json``
records, so that the export's weights fit it exactly.

Per module kind, mirroring PruneKit's ``ParameterSurgery`` (rows of producing projections, columns of consuming
ones, kept units in ascending original order):

* attention heads (``Attention`` in SDXL, ``FluxAttention`` in FLUX), ``k`` kept of head width ``D``:
  ``to_q``/``to_k``/``to_v`` (and FLUX's ``add_q_proj``/``add_k_proj``/``add_v_proj``) get ``k·D`` output rows,
  ``to_out.0`` (and ``to_add_out``) ``k·D`` input columns, and ``heads`` becomes ``k``. FLUX's
  ``norm_q``/``norm_k``/``norm_added_q``/``norm_added_k`` act per head on ``D`` values and are unchanged.
* feed-forward neurons (``FeedForward``), ``k`` kept: ``net.0.proj`` gets ``2k`` rows for SDXL's GEGLU
  (``[value half | gate half]``) or ``k`` for FLUX's tanh GELU, and ``net.2`` ``k`` input columns.
* FLUX single blocks: ``proj_mlp`` gets ``k_mlp`` rows and the shared ``proj_out`` ``k_heads·D + k_mlp`` input
  columns (``[attention heads | MLP neurons]``).

A module with every unit removed keeps its zero-width projections, exactly as the PruneKit export writes them
(``to_q.weight`` ``[0, C]``, ``to_out.0.weight`` ``[C, 0]`` plus its bias). A zero-width feed-forward computes
its output bias with plain torch ops. A zero-head attention is replaced by :class:`RemovedAttention`, which
holds the same parameters under the same names and returns its output bias (and FLUX's ``to_add_out`` bias for
the text stream; nothing for a single block, whose ``proj_out`` then has no attention columns), because
diffusers' attention processors cannot split zero heads. This is the masked model's output with every head at
0, never an identity.
"""

import re

import torch
from torch import nn

from .errors import UnsupportedModelError
from .manifest import ModuleEntry

HEAD = "head"
NEURON = "neuron"
BLOCK = "block"
#: ``config.json`` key of a PruneKit SDXL export listing the identity blocks that pad a depth diffusers ties to another.
IDENTITY_BLOCKS = "_prunekit_identity_blocks"


def block_renaming(manifest):
    """Format version 2: the block lists (``kind: block``) of ``manifest`` and a function mapping an original module
    key to its key in the export, where removed blocks are gone and the kept ones renumbered ``0, 1, …`` in order;
    ``None`` for a module inside a removed block.

    Returns:
        (dict list key → kept original indices, rename function)
    """
    lists = {entry.key: entry.kept for entry in manifest.modules if entry.kind == BLOCK}

    def rename(key):
        for list_key, kept in lists.items():
            prefix = list_key + "."
            if key.startswith(prefix):
                index, dot, rest = key[len(prefix):].partition(".")
                if index.isdigit() and dot:
                    if int(index) not in kept:
                        return None
                    return f"{prefix}{kept.index(int(index))}.{rest}"
        return key

    return lists, rename


def check_depths(model, manifest, config):
    """Every block list of ``manifest`` has, in ``model`` (built from the export's ``config.json``), its kept blocks
    plus the identity padding blocks ``config.json`` lists under ``_prunekit_identity_blocks``.

    Raises:
        UnsupportedModelError: the list is not a module list of the model, or its depth differs.
    """
    padding = config.get(IDENTITY_BLOCKS) or []
    for entry in manifest.modules:
        if entry.kind != BLOCK:
            continue
        blocks = _submodule(model, entry.key, entry, manifest)
        if not isinstance(blocks, nn.ModuleList):
            raise UnsupportedModelError(
                f"{manifest.path}: module {entry.key} has unit kind 'block' but is a {type(blocks).__name__}, not a "
                f"list of blocks")
        extra = sum(1 for key in padding if isinstance(key, str) and key.rpartition(".")[0] == entry.key)
        if len(blocks) != entry.kept_units + extra:
            raise UnsupportedModelError(
                f"{manifest.path}: block list {entry.key} keeps {entry.kept_units} blocks"
                f"{f' plus {extra} identity blocks' if extra else ''}, but config.json builds {len(blocks)}")


def empty_linear(in_features, out_features, bias, like):
    """An ``nn.Linear`` with meta-device parameters of the given size and no initialisation (a zero-size
    ``nn.Linear`` would warn that initialising it is a no-op); ``like`` supplies dtype and device."""
    layer = nn.Linear.__new__(nn.Linear)
    nn.Module.__init__(layer)
    layer.in_features = in_features
    layer.out_features = out_features
    factory = dict(device=like.weight.device, dtype=like.weight.dtype)
    layer.weight = nn.Parameter(torch.empty(out_features, in_features, **factory))
    if bias:
        layer.bias = nn.Parameter(torch.empty(out_features, **factory))
    else:
        layer.register_parameter("bias", None)
    return layer


def _resized(layer, in_features=None, out_features=None):
    return empty_linear(
        layer.in_features if in_features is None else in_features,
        layer.out_features if out_features is None else out_features,
        layer.bias is not None, layer)


class RemovedAttention(nn.Module):
    """An attention module whose heads were all removed.

    It keeps the original module's (zero-width) projections and norms under their original names, so the
    export's state dict loads into it unchanged, and returns what the masked model computes with every head
    masked: ``to_out.0`` applied to a zero-width input, i.e. its bias broadcast to ``[batch, tokens, C]``
    (FLUX joint attention also returns ``to_add_out``'s bias for the text tokens; a FLUX single block's
    attention, which has no output projection of its own, returns ``[batch, tokens, 0]``).
    """

    def __init__(self, original):
        super().__init__()
        if any(True for _ in original.named_parameters(recurse=False)):
            raise UnsupportedModelError(f"{type(original).__name__} holds parameters of its own; cannot replace it")
        for name, child in original.named_children():
            self.add_module(name, child)
        self.original_class = type(original).__name__
        self.heads = 0
        self.inner_dim = 0
        self.residual_connection = bool(getattr(original, "residual_connection", False))
        self.rescale_output_factor = float(getattr(original, "rescale_output_factor", 1.0))

    def forward(self, hidden_states, encoder_hidden_states=None, attention_mask=None, image_rotary_emb=None,
                **kwargs):
        if hidden_states.ndim != 3:
            raise ValueError(f"RemovedAttention takes [batch, tokens, channels], got {tuple(hidden_states.shape)}")
        empty = hidden_states.new_zeros(*hidden_states.shape[:-1], 0)
        to_out = getattr(self, "to_out", None)
        if to_out is None:
            return empty
        output = to_out[0](empty)
        for layer in list(to_out)[1:]:
            output = layer(output)
        if self.residual_connection:
            output = output + hidden_states
        output = output / self.rescale_output_factor
        to_add_out = getattr(self, "to_add_out", None)
        if to_add_out is not None and encoder_hidden_states is not None:
            context = to_add_out(encoder_hidden_states.new_zeros(*encoder_hidden_states.shape[:-1], 0))
            return output, context
        return output


def _is_attention(module):
    return type(module).__name__ in ("Attention", "FluxAttention")


def _head_width(attention):
    heads = attention.heads
    width = getattr(attention, "head_dim", None)
    if width is None:
        if heads <= 0 or attention.to_q.out_features % heads:
            raise UnsupportedModelError(f"cannot tell the head width of {type(attention).__name__}")
        width = attention.to_q.out_features // heads
    return width


def shrink_attention(attention, kept, key):
    """Resizes ``attention`` in place to ``kept`` heads; returns the parameter keys (relative) it resized."""
    width = _head_width(attention)
    inner = kept * width
    producers = ["to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj"]
    for name in producers:
        layer = getattr(attention, name, None)
        if layer is not None and layer.out_features != attention.to_q.out_features:
            raise UnsupportedModelError(
                f"module {key}: {name} has {layer.out_features} outputs but to_q has {attention.to_q.out_features} "
                f"(grouped key/value heads are not supported)")
    for norm_name in ("norm_q", "norm_k", "norm_added_q", "norm_added_k"):
        norm = getattr(attention, norm_name, None)
        weight = getattr(norm, "weight", None) if norm is not None else None
        if weight is not None and tuple(weight.shape) != (width,):
            raise UnsupportedModelError(
                f"module {key}: {norm_name} normalises {tuple(weight.shape)} values, not one head of {width}")
    for name in ("group_norm", "spatial_norm", "norm_cross"):
        if getattr(attention, name, None) is not None:
            raise UnsupportedModelError(f"module {key}: attention with {name} is not supported")
    resized = []
    for name in producers:
        layer = getattr(attention, name, None)
        if layer is not None:
            setattr(attention, name, _resized(layer, out_features=inner))
            resized.append(name)
    to_out = getattr(attention, "to_out", None)
    if to_out is not None:
        to_out[0] = _resized(to_out[0], in_features=inner)
        resized.append("to_out.0")
    if getattr(attention, "to_add_out", None) is not None:
        attention.to_add_out = _resized(attention.to_add_out, in_features=inner)
        resized.append("to_add_out")
    attention.heads = kept
    attention.inner_dim = inner
    if hasattr(attention, "inner_kv_dim"):
        attention.inner_kv_dim = inner
    if hasattr(attention, "sliceable_head_dim"):
        attention.sliceable_head_dim = kept
    return resized


def shrink_feed_forward(feed_forward, kept, key):
    """Resizes a diffusers ``FeedForward`` in place to ``kept`` hidden neurons."""
    activation = feed_forward.net[0]
    kind = type(activation).__name__
    if kind == "GEGLU":
        rows = 2 * kept
    elif kind == "GELU":
        rows = kept
    else:
        raise UnsupportedModelError(f"module {key}: feed-forward activation {kind} is not supported (GEGLU, GELU)")
    output = feed_forward.net[2]
    if not isinstance(output, nn.Linear) or not isinstance(activation.proj, nn.Linear):
        raise UnsupportedModelError(f"module {key}: unexpected feed-forward layout")
    activation.proj = _resized(activation.proj, out_features=rows)
    feed_forward.net[2] = _resized(output, in_features=kept)
    return ["net.0.proj", "net.2"]


_SINGLE_MLP = re.compile(r"^(single_transformer_blocks\.\d+)\.mlp$")


def shrink_model(model, manifest):
    """Shrinks ``model`` (built from ``config.json``, best on the meta device) to the widths in ``manifest``.

    Format version 2 (whole blocks): ``config.json`` already builds the kept depth, so the heads and neurons of
    kept blocks are applied under their renumbered keys and those of removed blocks skipped (see
    :func:`block_renaming`; :func:`check_depths` checks the depth).

    Returns:
        dict: parameter key → the ``prunekit.json`` module key that sized it, for error messages.

    Raises:
        UnsupportedModelError: a module key that is not in the model, a kind that does not fit the module, or a
            layer this loader cannot resize.
    """
    owners = {}
    single_blocks = {}
    removed_attention = []
    _, rename = block_renaming(manifest)
    for original in manifest.modules:
        if original.kind == BLOCK:
            continue
        if original.kind not in (HEAD, NEURON):
            raise UnsupportedModelError(
                f"{manifest.path}: module {original.key} has unit kind {original.kind!r}; this loader knows "
                f"{HEAD!r}, {NEURON!r} and {BLOCK!r}")
        key = rename(original.key)
        if key is None:
            continue  # inside a removed block: gone with it
        entry = original if key == original.key else ModuleEntry(key, original.kind, original.original_units,
                                                                  original.kept_units, original.kept)
        single = _SINGLE_MLP.match(entry.key)
        if single:
            block = _submodule(model, single.group(1), entry, manifest)
            if type(block).__name__ != "FluxSingleTransformerBlock":
                raise UnsupportedModelError(f"{manifest.path}: module {entry.key}: {single.group(1)} is a "
                                            f"{type(block).__name__}, not a FluxSingleTransformerBlock")
            _expect_kind(entry, NEURON, "a single block's MLP", manifest)
            single_blocks.setdefault(single.group(1), {})["mlp"] = entry
            continue
        module = _submodule(model, entry.key, entry, manifest)
        if _is_attention(module):
            _expect_kind(entry, HEAD, type(module).__name__, manifest)
            for name in shrink_attention(module, entry.kept_units, entry.key):
                for suffix in ("weight", "bias"):
                    owners[f"{entry.key}.{name}.{suffix}"] = entry.key
            parent, _, leaf = entry.key.rpartition(".")
            if type(_submodule(model, parent, entry, manifest)).__name__ == "FluxSingleTransformerBlock":
                single_blocks.setdefault(parent, {})["attn"] = entry
            if entry.kept_units == 0:
                removed_attention.append(entry.key)
        elif type(module).__name__ == "FeedForward":
            _expect_kind(entry, NEURON, "FeedForward", manifest)
            for name in shrink_feed_forward(module, entry.kept_units, entry.key):
                for suffix in ("weight", "bias"):
                    owners[f"{entry.key}.{name}.{suffix}"] = entry.key
        else:
            raise UnsupportedModelError(
                f"{manifest.path}: module {entry.key} is a {type(module).__name__}; this loader prunes attention "
                f"heads and FeedForward neurons")

    for prefix, parts in single_blocks.items():
        block = model.get_submodule(prefix)
        heads = block.attn.heads
        mlp = parts["mlp"].kept_units if "mlp" in parts else block.mlp_hidden_dim
        if "mlp" in parts:
            block.proj_mlp = _resized(block.proj_mlp, out_features=mlp)
            block.mlp_hidden_dim = mlp
            for suffix in ("weight", "bias"):
                owners[f"{prefix}.proj_mlp.{suffix}"] = parts["mlp"].key
        attention_width = heads * _head_width_after(block.attn)
        block.proj_out = _resized(block.proj_out, in_features=attention_width + mlp)
        # diffusers' tensor-parallel plan splits proj_out's input columns along these block sizes
        block.proj_out._tp_packed_row_blocks = [attention_width, mlp]
        owners[f"{prefix}.proj_out.weight"] = " and ".join(p.key for p in parts.values())

    for key in removed_attention:
        parent, _, leaf = key.rpartition(".")
        holder = model.get_submodule(parent) if parent else model
        setattr(holder, leaf, RemovedAttention(getattr(holder, leaf)))
    return owners


def _head_width_after(attention):
    width = getattr(attention, "head_dim", None)
    if width is None:
        raise UnsupportedModelError(f"cannot tell the head width of {type(attention).__name__}")
    return width


def _submodule(model, key, entry, manifest):
    try:
        return model.get_submodule(key)
    except AttributeError:
        raise UnsupportedModelError(
            f"{manifest.path}: module {entry.key}: {type(model).__name__} built from config.json has no "
            f"module {key}") from None


def _expect_kind(entry, kind, what, manifest):
    if entry.kind != kind:
        raise UnsupportedModelError(
            f"{manifest.path}: module {entry.key} is {what}, whose units are {kind}s, but the kind is {entry.kind!r}")
