"""``prunekit.json`` as written by the real CLI against ``docs/prunekit.schema.json`` and the rules of
``docs/prunekit-json.md`` that JSON Schema cannot state."""

import copy
import hashlib
import json
import os

import jsonschema
import pytest
from safetensors import safe_open

import prunekit
from cases import make_export, source_of
from conftest import REPO

with open(os.path.join(REPO, "docs", "prunekit.schema.json")) as _handle:
    SCHEMA = json.load(_handle)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

SCHEMA_CASES = ["sdxl-small", "flux-small", "flux-small-whole-modules", "sdxl-small-float16", "sdxl-pipeline-tiny",
                "flux-pipeline-tiny"]


def read(path):
    with open(path) as handle:
        return json.load(handle)


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", SCHEMA_CASES)
def test_exported_manifest_follows_the_documented_format(prunekit_cli, name):
    export = make_export(prunekit_cli, name)
    source = source_of(name)
    pipeline = os.path.isfile(os.path.join(export, "model_index.json"))
    folder = os.path.join(export, "unet" if source.startswith("sdxl") else "transformer") if pipeline else export
    data = read(os.path.join(folder, "prunekit.json"))
    VALIDATOR.validate(data)
    if pipeline:
        assert read(os.path.join(export, "prunekit.json")) == data

    # The rules the schema cannot state.
    assert data["removed_parameter_count"] == data["source"]["parameter_count"] - data["parameter_count"] > 0
    totals = {}
    for module in data["modules"]:
        assert module["kept_units"] == len(module["kept"])
        assert module["kept"] == sorted(module["kept"])
        assert all(0 <= index < module["original_units"] for index in module["kept"])
        total = totals.setdefault(module["kind"], {"original": 0, "kept": 0})
        total["original"] += module["original_units"]
        total["kept"] += module["kept_units"]
    assert data["units"] == totals
    with safe_open(os.path.join(folder, "diffusion_pytorch_model.safetensors"), framework="pt") as handle:
        stored = sum(_count(handle.get_slice(key).get_shape()) for key in handle.keys())
    assert stored == data["parameter_count"]
    # source.files are checkable fingerprints of the source's weight files.
    source_folder = os.path.join(REPO, data["source"]["name"]) if not os.path.isabs(data["source"]["name"]) \
        else data["source"]["name"]
    assert data["source"]["files"]
    for entry in data["source"]["files"]:
        with open(os.path.join(source_folder, entry["name"]), "rb") as handle:
            content = handle.read()
        assert (len(content), hashlib.sha256(content).hexdigest()) == (entry["bytes"], entry["sha256"])
    # And the Python reader takes it.
    manifest = prunekit.read_manifest(folder)
    assert [m.key for m in manifest.modules] == [m["key"] for m in data["modules"]]


def _count(shape):
    count = 1
    for extent in shape:
        count *= extent
    return count


@pytest.mark.parametrize("change,fragment", [
    (lambda d: d.update(format_version=3), "format_version"),
    (lambda d: d.pop("modules"), "modules"),
    (lambda d: d["modules"][0].update(kind="layer"), "kind"),
    (lambda d: d["modules"][0].update(kept=[1, 1]), "kept"),
    (lambda d: d["source"]["files"][0].update(sha256="AB" * 32), "sha256"),
    (lambda d: d.update(typo_field=1), "typo_field"),
], ids=["newer-version", "no-modules", "unknown-kind", "repeated-index", "uppercase-sha256", "unknown-field"])
def test_schema_rejects_what_version_1_does_not_allow(prunekit_cli, change, fragment):
    data = copy.deepcopy(read(os.path.join(make_export(prunekit_cli, "sdxl-small"), "prunekit.json")))
    change(data)
    errors = list(VALIDATOR.iter_errors(data))
    assert errors and any(fragment in (str(e.path) + e.message) for e in errors), [e.message for e in errors]
