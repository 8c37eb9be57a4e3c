"""``load_pruned`` and ``load_pruned_pipeline``: PruneKit exports into stock diffusers classes."""

import json
import os

import torch

from .errors import ManifestError, PruneKitError, UnsupportedModelError, WeightMismatchError
from .manifest import FILE_NAME, read_manifest
from .surgery import block_renaming, check_depths, shrink_model
from .weights import WeightFiles

#: ``prunekit.json`` ``architecture`` → the diffusers class name and the pipeline folder that holds it.
DENOISERS = {
    "UNet2DConditionModel": "unet",
    "FluxTransformer2DModel": "transformer",
}
PIPELINE_INDEX = "model_index.json"


def _diffusers_class(architecture, manifest_path):
    if architecture not in DENOISERS:
        known = ", ".join(sorted(DENOISERS))
        raise UnsupportedModelError(
            f"{manifest_path}: architecture {architecture!r} cannot be loaded into diffusers by this package "
            f"(it knows {known})")
    import diffusers

    return getattr(diffusers, architecture)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise PruneKitError(f"{path} does not exist") from None
    except (OSError, ValueError) as error:
        raise PruneKitError(f"{path}: cannot read it as JSON: {error}") from None


def _denoiser_folder(path):
    """``path`` itself, or the denoiser folder (``unet/`` or ``transformer/``) of a pipeline folder."""
    index_path = os.path.join(path, PIPELINE_INDEX)
    if os.path.isfile(os.path.join(path, "config.json")) or not os.path.isfile(index_path):
        return path
    index = _read_json(index_path)
    for architecture, folder in DENOISERS.items():
        entry = index.get(folder) if isinstance(index, dict) else None
        if isinstance(entry, list) and len(entry) == 2 and entry[1] == architecture:
            return os.path.join(path, folder)
    raise UnsupportedModelError(f"{index_path}: names no unet or transformer this package can load")


def load_pruned(path, torch_dtype=None):
    """Loads a PruneKit export (a pruned denoiser folder, or a pruned pipeline folder's denoiser) as a diffusers
    ``UNet2DConditionModel`` or ``FluxTransformer2DModel`` whose modules have the export's head counts and FFN
    widths.

    The model is built from ``config.json`` on the meta device, shrunk to the widths ``prunekit.json`` records
    (see :mod:`prunekit.surgery`), and the weights are assigned from the safetensors file(s), so nothing is
    initialised twice. Every key and shape must match: a missing, unexpected or mis-shaped tensor is an error
    that names it.

    Args:
        path: the export folder (``config.json``, ``prunekit.json``, ``diffusion_pytorch_model.safetensors`` or
            shards with ``diffusion_pytorch_model.safetensors.index.json``), or a pruned pipeline folder.
        torch_dtype: convert floating-point weights to this dtype; ``None`` keeps the export's (a
            ``prune --dtype float16`` export loads as float16).

    Returns:
        The model in eval mode. ``model.prunekit_manifest`` is the parsed :class:`prunekit.manifest.Manifest`.

    Raises:
        ManifestError, UnsupportedFormatVersionError: ``prunekit.json`` is missing, malformed, or newer than
            this package.
        UnsupportedModelError: an architecture, unit kind or layer this package cannot rebuild.
        WeightMismatchError: the weights do not fit ``prunekit.json`` and ``config.json``.
        PruneKitError: unreadable files.
    """
    folder = _denoiser_folder(os.fspath(path))
    manifest = read_manifest(folder)
    cls = _diffusers_class(manifest.architecture, manifest.path)
    config_path = os.path.join(folder, "config.json")
    config = _read_json(config_path)
    if not isinstance(config, dict):
        raise PruneKitError(f"{config_path}: must be a JSON object")
    class_name = config.get("_class_name")
    if class_name is not None and class_name != manifest.architecture:
        raise ManifestError(
            manifest.path, f"architecture is {manifest.architecture} but {config_path} is a {class_name}")
    files = WeightFiles(folder)
    lists, _ = block_renaming(manifest)
    if manifest.architecture == "FluxTransformer2DModel":
        # The depth of a block-pruned FLUX export is the kept block count (its config.json says the same).
        for list_key, config_key in (("transformer_blocks", "num_layers"), ("single_transformer_blocks", "num_single_layers")):
            if list_key in lists:
                config = dict(config, **{config_key: len(lists[list_key])})

    with torch.device("meta"):
        model = cls.from_config(config)
    check_depths(model, manifest, config)
    owners = shrink_model(model, manifest)

    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    problems = []
    for key, shape in expected.items():
        actual = files.shapes.get(key)
        where = f" (sized by prunekit.json module {owners[key]})" if key in owners else ""
        if actual is None:
            problems.append(f"{key}: missing from the weights, expected shape {list(shape)}{where}")
        elif actual != shape:
            problems.append(f"{key}: the weights hold shape {list(actual)}, expected {list(shape)}{where}")
    for key in sorted(set(files.shapes) - set(expected)):
        problems.append(f"{key}: in {os.path.basename(files.file_of[key])} but not in the model")
    if problems:
        raise WeightMismatchError(folder, problems)

    state = files.load(torch_dtype)
    model.load_state_dict(state, strict=True, assign=True)
    left = [name for name, tensor in list(model.named_parameters()) + list(model.named_buffers())
            if tensor.is_meta]
    if left:
        raise UnsupportedModelError(f"{folder}: {', '.join(left[:5])} got no value from the weights")
    model.eval()
    model.prunekit_manifest = manifest
    return model


def load_pruned_pipeline(path, torch_dtype=None):
    """Loads a pruned pipeline folder (``prunekit prune --model <pipeline folder>``) as a diffusers pipeline
    (``StableDiffusionXLPipeline``, ``FluxPipeline``) whose denoiser is the pruned one.

    The folder has ``model_index.json`` and ``prunekit.json`` at the top and the pruned denoiser in ``unet/`` or
    ``transformer/`` (with its own, identical ``prunekit.json``); every other component is the source
    pipeline's and loads with diffusers' own ``from_pretrained``.

    Args:
        path: the pruned pipeline folder.
        torch_dtype: the dtype of every component; ``None`` uses the pruned denoiser's stored dtype for the
            whole pipeline, so a 16-bit export gives a consistent 16-bit pipeline.

    Raises:
        ManifestError, UnsupportedFormatVersionError: the top ``prunekit.json`` is missing, malformed, newer than
            this package, or differs from the denoiser's.
        UnsupportedModelError, WeightMismatchError, PruneKitError: as :func:`load_pruned`.
    """
    path = os.fspath(path)
    index_path = os.path.join(path, PIPELINE_INDEX)
    if not os.path.isfile(index_path):
        raise PruneKitError(f"{path}: no {PIPELINE_INDEX}, so it is not a pipeline folder (use load_pruned for a "
                            f"bare denoiser export)")
    top = read_manifest(path)
    folder_name = DENOISERS.get(top.architecture)
    if folder_name is None:
        _diffusers_class(top.architecture, top.path)
    index = _read_json(index_path)
    entry = index.get(folder_name) if isinstance(index, dict) else None
    if not (isinstance(entry, list) and len(entry) == 2 and entry[1] == top.architecture):
        raise PruneKitError(f"{index_path}: {folder_name} must be [\"diffusers\", \"{top.architecture}\"], "
                            f"as {top.path} says, got {json.dumps(entry)}")
    denoiser_folder = os.path.join(path, folder_name)
    if torch_dtype is None:
        torch_dtype = WeightFiles(denoiser_folder).stored_dtype()
    denoiser = load_pruned(denoiser_folder, torch_dtype=torch_dtype)
    if denoiser.prunekit_manifest.raw != top.raw:
        raise ManifestError(top.path, f"differs from {denoiser.prunekit_manifest.path}; the copy at the top of a "
                                      f"pruned pipeline must be identical")
    from diffusers import DiffusionPipeline

    # diffusers 0.42 names the dtype argument `dtype` (`torch_dtype` is deprecated there)
    return DiffusionPipeline.from_pretrained(path, dtype=torch_dtype, **{folder_name: denoiser})

