"""Shared helpers: the real ``prunekit`` binary, exports of the fixture models made with it, and forward calls.

The binary is ``$PRUNEKIT_BIN``, else ``.build/debug/prunekit`` under the repository root (build it with
``swift build --product prunekit``). Exports are made once per test session, in a temporary folder.
"""

import itertools
import os
import shutil
import subprocess

import pytest
import torch
from safetensors.torch import load_file, save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "Tests", "Fixtures")

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


def fixture(name):
    return os.path.join(FIXTURES, name)


def max_relative_error(actual, expected):
    """``max|a − b| / max|b|``, PruneKit's fixture measure (docs/decisions.md, "Relative error is measured
    against the tensor's scale"), computed in float64."""
    assert actual.shape == expected.shape, f"shapes differ: {tuple(actual.shape)} vs {tuple(expected.shape)}"
    actual = actual.detach().to(torch.float64)
    expected = expected.detach().to(torch.float64)
    scale = max(expected.abs().max().item(), 1e-30)
    return (actual - expected).abs().max().item() / scale


class PruneKit:
    """Runs the real ``prunekit`` binary."""

    def __init__(self, binary, root):
        self.binary = binary
        self.root = root
        self._exports = {}
        self._counter = itertools.count()

    def run(self, *arguments):
        result = subprocess.run([self.binary, *map(str, arguments)], cwd=REPO, capture_output=True, text=True,
                                timeout=900)
        if result.returncode != 0:
            raise AssertionError(f"prunekit {' '.join(map(str, arguments))} exited {result.returncode}:\n"
                                 f"{result.stderr[-4000:]}")
        return result

    def export(self, name, model, *arguments):
        """``prunekit prune --model MODEL ARGUMENTS --out <root>/NAME``, made once per session."""
        request = (str(model), tuple(map(str, arguments)))
        if name not in self._exports:
            out = os.path.join(self.root, name)
            self.run("prune", "--model", model, *arguments, "--out", out)
            self._exports[name] = (request, out)
        made, out = self._exports[name]
        assert made == request, f"export {name} was made from {made}, now asked for {request}"
        return out

    def forward(self, model, inputs):
        """``prunekit forward``'s ``output`` tensor for ``model`` on the inputs file."""
        out = os.path.join(self.root, f"forward-{next(self._counter)}.safetensors")
        self.run("forward", "--model", model, "--inputs", inputs, "--output", out)
        return load_file(out)["output"]


@pytest.fixture(scope="session")
def prunekit_cli(tmp_path_factory):
    binary = os.environ.get("PRUNEKIT_BIN") or os.path.join(REPO, ".build", "debug", "prunekit")
    binary = os.path.abspath(binary)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        pytest.fail(f"the prunekit binary {binary} does not exist: build it with `swift build --product prunekit` "
                    f"in {REPO}, or set PRUNEKIT_BIN", pytrace=False)
    return PruneKit(binary, str(tmp_path_factory.mktemp("exports")))


@pytest.fixture
def copy_export(tmp_path):
    """Copies an export folder into this test's temporary folder (to edit it)."""

    def copy(source, name="copy"):
        target = tmp_path / name
        shutil.copytree(source, target)
        return str(target)

    return copy


def denoiser_forward(model, inputs, dtype=None):
    """The diffusers model's ``.sample`` on a fixture inputs dictionary (SDXL or FLUX names), optionally with the
    inputs cast to ``dtype``."""
    cast = (lambda t: t.to(dtype)) if dtype is not None else (lambda t: t)
    with torch.no_grad():
        if "sample" in inputs:
            return model(
                cast(inputs["sample"]), inputs["timestep"], encoder_hidden_states=cast(inputs["encoder_hidden_states"]),
                added_cond_kwargs={"text_embeds": cast(inputs["text_embeds"]), "time_ids": cast(inputs["time_ids"])},
            ).sample
        return model(
            hidden_states=cast(inputs["hidden_states"]), encoder_hidden_states=cast(inputs["encoder_hidden_states"]),
            pooled_projections=cast(inputs["pooled_projections"]), timestep=cast(inputs["timestep"]),
            img_ids=inputs["img_ids"], txt_ids=inputs["txt_ids"],
            guidance=cast(inputs["guidance"]) if "guidance" in inputs else None,
        ).sample


def write_latents(path, tensor):
    save_file({"latents": tensor.contiguous()}, path)
    return path
