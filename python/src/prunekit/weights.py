"""The weight files of a diffusers model folder: one ``diffusion_pytorch_model.safetensors`` or shards listed
by ``diffusion_pytorch_model.safetensors.index.json`` (its ``weight_map``: key → shard file name)."""

import json
import os

import torch
from safetensors import safe_open

from .errors import PruneKitError

SINGLE_FILE = "diffusion_pytorch_model.safetensors"
INDEX_FILE = "diffusion_pytorch_model.safetensors.index.json"


class WeightFiles:
    """Which file holds each key, and every tensor's shape and safetensors dtype (``F32``, ``F16``, ``BF16``, …),
    read from the safetensors headers only."""

    def __init__(self, directory):
        self.directory = str(directory)
        single = os.path.join(self.directory, SINGLE_FILE)
        index = os.path.join(self.directory, INDEX_FILE)
        if os.path.isfile(single):
            files = [single]
            expected = None
        elif os.path.isfile(index):
            expected = _read_index(index)
            files = sorted({os.path.join(self.directory, name) for name in expected.values()})
        else:
            raise PruneKitError(f"{self.directory}: no {SINGLE_FILE} and no {INDEX_FILE}")
        self.file_of = {}
        self.shapes = {}
        self.dtypes = {}
        for path in files:
            if not os.path.isfile(path):
                raise PruneKitError(f"{index}: lists the shard {os.path.basename(path)}, which does not exist")
            try:
                with safe_open(path, framework="pt") as handle:
                    for key in handle.keys():
                        if key in self.file_of:
                            raise PruneKitError(f"{path}: {key} is also in {self.file_of[key]}")
                        self.file_of[key] = path
                        view = handle.get_slice(key)
                        self.shapes[key] = tuple(view.get_shape())
                        self.dtypes[key] = view.get_dtype()
            except PruneKitError:
                raise
            except Exception as error:  # safetensors raises its own error types for a corrupt header
                raise PruneKitError(f"{path}: not a readable safetensors file: {error}") from None
        if expected is not None:
            for key, name in expected.items():
                actual = self.file_of.get(key)
                if actual is None or os.path.basename(actual) != name:
                    where = os.path.basename(actual) if actual else "no shard"
                    raise PruneKitError(f"{index}: maps {key} to {name}, but it is in {where}")
            for key, path in self.file_of.items():
                if key not in expected:
                    raise PruneKitError(f"{index}: does not list {key}, which {os.path.basename(path)} holds")

    def stored_dtype(self):
        """The torch dtype most floating-point tensors are stored in, or ``None`` when there are none."""
        names = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}
        counts = {}
        for dtype in self.dtypes.values():
            if dtype in names:
                counts[dtype] = counts.get(dtype, 0) + 1
        return names[max(counts, key=counts.get)] if counts else None

    def load(self, dtype=None):
        """Every tensor by key, converted to ``dtype`` (floating tensors only) when it is given."""
        tensors = {}
        by_file = {}
        for key, path in self.file_of.items():
            by_file.setdefault(path, []).append(key)
        for path, keys in sorted(by_file.items()):
            with safe_open(path, framework="pt") as handle:
                for key in keys:
                    tensor = handle.get_tensor(key)
                    if dtype is not None and tensor.is_floating_point():
                        tensor = tensor.to(dtype)
                    tensors[key] = tensor
        return tensors


def _read_index(path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise PruneKitError(f"{path}: cannot read the shard index: {error}") from None
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise PruneKitError(f"{path}: weight_map must be an object of key → shard file name")
    for name in weight_map.values():
        if os.path.basename(name) != name:
            raise PruneKitError(f"{path}: shard name {name} must be a file name in the same folder")
    return weight_map
