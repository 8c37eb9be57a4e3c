#!/usr/bin/env python3
"""Fixtures for `prunekit import-ecodiff` and the restricted torch.save reader (PruneTorchCheckpoint).

Run from the repo root:
    /work/venv-fixtures/bin/python Tests/Fixtures/make_ecodiff_fixtures.py

Writes Tests/Fixtures/ecodiff/:

  <case>/attn.pt, <case>/ff.pt   (case = sdxl-tiny, sdxl-small: the U-Nets of Tests/Fixtures/<case>)
      λ files of the format EcoDiff's release ships (YaNgZhAnG-V5/EcoDiff, branch inference_only, mask/):
      `torch.save(list_of_tensors, path)` with one bf16 vector per module, in forward-execution order,
      each a leaf with requires_grad=True (as the trained λ are), storage location tagged "cuda:0"
      (EcoDiff saves from the GPU; the tag is recorded, never used). attn.pt: attn1 and attn2 of every
      BasicTransformerBlock; ff.pt: every block's FFN (GEGLU hidden width). Values are seeded and drawn so
      that ties, negative FFN λ (clamped to tied zeros) and ties across the cut-off all occur.
  <case>/expected.safetensors
      For every case in CASES, `<scope>-<heads>-<neurons>/mask.<module key>` F32 [units]: the binary masks
      computed the release's way (release_binarize below: FFN λ clamped at 0 on load, stable descending
      sort, k = int(n·ratio), where(λ > sorted[k-1], 1, top-k)). Metadata: `cases` (JSON list of
      [name, scope, heads ratio, neurons ratio]), `attention_order` and `ffn_order` (module names in the
      order the real diffusers forward calls them, recorded with hooks — what EcoDiff's list order is).
      Also `lambda/attn/<i>` and `lambda/ff/<i>`: the saved λ as F32 (bf16 widens exactly).
  <case>/attn-legacy.pt          attn.pt's list saved with _use_new_zipfile_serialization=False
  <case>/attn-protocol4.pt       attn.pt's list saved with pickle_protocol=4 (FRAME, MEMOIZE, STACK_GLOBAL)
  tensors.pt, tensors.safetensors
      an OrderedDict of tensors exercising the reader: every floating dtype, a transposed (strided) view,
      a view at a storage offset, two tensors sharing a storage, an nn.Parameter, an empty tensor and a
      scalar; tensors.safetensors holds the same values as float32 (float64 rounded) under the same keys.
  tensors-zip64.pt   tensors.pt's entries rewritten by Python's zipfile with zip64 records forced
  tensors-deflated.pt  the same entries compressed (deflate), which the reader must refuse
  malicious/*.pt, malicious/*.pkl
      pickles that would run code if unpickled by Python: os.system (pickled as posix.system),
      builtins.eval, and a __reduce__ to subprocess.Popen, each inside a torch.save zip container
      (after a real tensor, so the reader meets a valid prefix first), in the legacy torch.save layout, and
      one as a bare pickle, plus os.system through STACK_GLOBAL (protocol 4). Nothing here is ever loaded
      by this script: the payloads are pickled, never unpickled.

Deterministic: seeded generators; torch.save archives and the zip rewrites are byte-identical across runs
(serialization ids are fixed below). Requires torch, diffusers, safetensors (Tests/Fixtures/requirements.txt).
"""
import collections
import io
import json
import os
import pickle
import pickletools
import shutil
import struct
import subprocess
import zipfile

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from diffusers import UNet2DConditionModel

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "ecodiff")
MODELS = ["sdxl-tiny", "sdxl-small"]
# (scope, kept fraction of heads, kept fraction of FFN neurons); every case keeps at least one unit per
# ranking group (k ≥ 1), where the release and PruneKit agree by construction (k = 0 is a documented deviation).
CASES = [
    ("global", 0.68, 0.88),
    ("local", 0.68, 0.88),
    ("global", 0.5, 0.3),
    ("local", 0.5, 0.55),
    ("global", 0.77, 0.61),
    ("local", 1.0, 1.0),
    ("global", 0.26, 0.07),
]

torch.manual_seed(0)
torch.set_num_threads(2)


# ----------------------------------------------------------------------------------------------------
# torch.save exactly as EcoDiff does it
# ----------------------------------------------------------------------------------------------------

def save_like_ecodiff(lambs, path, **kwargs):
    """torch.save(list, path) with storages tagged as CUDA ones, as EcoDiff's GPU-trained λ are."""
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        torch.save(lambs, path, **kwargs)
    finally:
        torch.serialization.location_tag = original
    fix_serialization_id(path)
    fix_legacy_keys(path)


def fix_legacy_keys(path):
    """The legacy layout keys storages by memory address (`str(storage._cdata)`) and writes them in sorted key
    order; rename every key to a zero-padded index (order of first use in the object pickle, same length) and
    rewrite the key list and the storage records in the new sorted order, so files regenerate byte-identically."""
    with open(path, "rb") as f:
        data = f.read()
    if zipfile.is_zipfile(path) or data[:1] != b"\x80":
        return
    stream = io.BytesIO(data)
    for _ in range(3):  # magic number, protocol version, sys_info
        for opcode, arg, pos in pickletools.genops(stream):
            if opcode.name == "STOP":
                break
    object_start = stream.tell()
    used = []
    for opcode, arg, pos in pickletools.genops(stream):
        if opcode.name == "STOP":
            break
        if opcode.name == "BINUNICODE" and arg.isdigit() and len(arg) > 6 and arg not in used:
            used.append(arg)
    object_end = stream.tell()
    keys = [arg for opcode, arg, pos in pickletools.genops(stream) if opcode.name == "BINUNICODE"]
    records_start = stream.tell()
    assert sorted(used) == sorted(keys), path
    # Element size of every storage, from the storage type that precedes its key in the object pickle.
    sizes = {}
    for opcode, arg, pos in pickletools.genops(io.BytesIO(data[object_start:object_end])):
        if opcode.name == "GLOBAL" and arg.startswith("torch ") and arg.endswith("Storage"):
            current = {"BFloat16Storage": 2, "HalfStorage": 2, "FloatStorage": 4, "DoubleStorage": 8}[arg.split()[1]]
        if opcode.name == "BINUNICODE" and arg in used:
            sizes[arg] = current
    blobs, cursor = {}, records_start
    for key in keys:
        count = struct.unpack("<q", data[cursor:cursor + 8])[0]
        length = 8 + count * sizes[key]
        blobs[key] = data[cursor:cursor + length]
        cursor += length
    assert cursor == len(data), path
    rename = {key: str(index).zfill(len(key)) for index, key in enumerate(used)}
    body = data[object_start:object_end]
    for old, new in rename.items():
        assert len(old) == len(new) and body.count(old.encode()) >= 1
        body = body.replace(old.encode(), new.encode())
    new_keys = sorted(rename.values())
    old_of = {new: old for old, new in rename.items()}
    result = data[:object_start] + body + pickle.dumps(new_keys, protocol=2) + b"".join(blobs[old_of[k]] for k in new_keys)
    with open(path, "wb") as f:
        f.write(result)


def fix_serialization_id(path):
    """torch writes a random `.data/serialization_id` record; rewrite it to a constant so files regenerate
    byte-identically (a stored entry of the same length: only its bytes and the CRC change)."""
    if not zipfile.is_zipfile(path):
        return
    with open(path, "rb") as f:
        data = bytearray(f.read())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = [i for i in z.infolist() if i.filename.endswith(".data/serialization_id")]
    for entry in info:
        local = entry.header_offset
        name_len, extra_len = struct.unpack("<HH", data[local + 26:local + 30])
        start = local + 30 + name_len + extra_len
        constant = ("0" * entry.file_size).encode()
        data[start:start + entry.file_size] = constant
        crc = zipfile.crc32(constant) & 0xFFFFFFFF
        # The central directory entry carries the CRC (torch writes data descriptors, flag bit 3).
        for offset in find_all(data, b"PK\x01\x02"):
            if struct.unpack("<I", data[offset + 42:offset + 46])[0] == local:
                data[offset + 16:offset + 20] = struct.pack("<I", crc)
        # And the data descriptor after the entry, when there is one.
        if struct.unpack("<H", data[local + 6:local + 8])[0] & 0x8:
            descriptor = start + entry.file_size
            if data[descriptor:descriptor + 4] == b"PK\x07\x08":
                data[descriptor + 4:descriptor + 8] = struct.pack("<I", crc)
            else:
                data[descriptor:descriptor + 4] = struct.pack("<I", crc)
    with open(path, "wb") as f:
        f.write(bytes(data))
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None, path


def find_all(data, needle):
    start = 0
    while True:
        index = data.find(needle, start)
        if index < 0:
            return
        yield index
        start = index + 1


# ----------------------------------------------------------------------------------------------------
# The release's binarisation (cross_attn_hook.py / ffn_hooker.py `load` and `binarize`), reimplemented
# ----------------------------------------------------------------------------------------------------

def release_load(lambs, kind):
    """FFN λ are clamped at 0 when the release loads them (binary=False); attention λ are used as saved."""
    return [torch.clamp(l, min=0.0) for l in lambs] if kind == "ffn" else list(lambs)


def topk_mask(values, ratio):
    n = values.numel()
    k = int(n * ratio)
    assert k >= 1, "k = 0 is outside the fixture cases (the release indexes sorted[-1] there)"
    sorted_values, order = torch.sort(values, descending=True, stable=True)
    threshold = sorted_values[k - 1]
    mask = torch.zeros_like(values)
    mask[order[:k]] = 1.0
    return torch.where(values > threshold, torch.ones_like(values), mask)


def release_binarize(lambs, scope, ratio):
    if scope == "local":
        return [topk_mask(l, ratio) for l in lambs]
    flat = torch.cat([l.flatten() for l in lambs])
    mask = topk_mask(flat, ratio)
    out, start = [], 0
    for l in lambs:
        out.append(mask[start:start + l.numel()].reshape(l.shape))
        start += l.numel()
    return out


# ----------------------------------------------------------------------------------------------------
# Execution order of a real forward (what EcoDiff's hook counter follows)
# ----------------------------------------------------------------------------------------------------

def execution_order(unet):
    """Names of attention modules (last name component contains 'attn') and FFN modules ('ff'), in the
    order a forward calls them — EcoDiff's selection rule and list order."""
    attention, ffn, handles = [], [], []
    for name, module in unet.named_modules():
        last = name.split(".")[-1]
        if "attn" in last:
            handles.append(module.register_forward_hook(lambda m, i, o, name=name: attention.append(name)))
        elif "ff" in last:
            handles.append(module.net[0].register_forward_hook(lambda m, i, o, name=name: ffn.append(name)))
    config = unet.config
    cross = config.cross_attention_dim
    text_embeds = config.projection_class_embeddings_input_dim - 6 * config.addition_time_embed_dim
    with torch.no_grad():
        unet(torch.zeros(1, config.in_channels, 16, 16), torch.tensor([10.0]), torch.zeros(1, 3, cross),
             added_cond_kwargs={"text_embeds": torch.zeros(1, text_embeds), "time_ids": torch.zeros(1, 6)})
    for handle in handles:
        handle.remove()
    return attention, ffn


def make_lambdas(sizes, generator, ffn):
    """Seeded bf16 λ with ties: values on a coarse grid (multiples of 0.25 in [-2, 3]) so many coincide;
    FFN vectors get a negative block that the release's clamp turns into tied zeros."""
    lambs = []
    for n in sizes:
        grid = torch.randint(-8, 13, (n,), generator=generator).float() * 0.25
        if ffn:
            grid[: n // 3] = -torch.rand(n // 3, generator=generator) - 0.1
        lamb = grid.to(torch.bfloat16).requires_grad_(True)
        lambs.append(lamb)
    return lambs


def make_case(model_name, seed):
    unet = UNet2DConditionModel.from_pretrained(os.path.join(HERE, model_name))
    attention, ffn = execution_order(unet)
    modules = dict(unet.named_modules())
    head_counts = [modules[name].heads for name in attention]
    ffn_widths = [modules[name].net[0].proj.out_features // 2 for name in ffn]
    generator = torch.Generator().manual_seed(seed)
    attn_lambs = make_lambdas(head_counts, generator, ffn=False)
    ff_lambs = make_lambdas(ffn_widths, generator, ffn=True)

    folder = os.path.join(OUT, model_name)
    os.makedirs(folder, exist_ok=True)
    save_like_ecodiff(attn_lambs, os.path.join(folder, "attn.pt"))
    save_like_ecodiff(ff_lambs, os.path.join(folder, "ff.pt"))
    save_like_ecodiff(attn_lambs, os.path.join(folder, "attn-legacy.pt"), _use_new_zipfile_serialization=False)
    save_like_ecodiff(attn_lambs, os.path.join(folder, "attn-protocol4.pt"), pickle_protocol=4)
    # The saved files must read back as exactly these λ.
    for name, expected in [("attn.pt", attn_lambs), ("ff.pt", ff_lambs), ("attn-legacy.pt", attn_lambs), ("attn-protocol4.pt", attn_lambs)]:
        # torch's weights_only unpickler lacks protocol 4's FRAME; this file was written just above by this script.
        back = torch.load(os.path.join(folder, name), weights_only="protocol4" not in name, map_location="cpu")
        assert len(back) == len(expected) and all(torch.equal(a, b) for a, b in zip(back, expected)), name

    tensors, cases = {}, []
    for index, lamb in enumerate(attn_lambs):
        tensors[f"lambda/attn/{index}"] = lamb.detach().float()
    for index, lamb in enumerate(ff_lambs):
        tensors[f"lambda/ff/{index}"] = lamb.detach().float()
    attn_loaded = release_load([l.detach() for l in attn_lambs], "attn")
    ff_loaded = release_load([l.detach() for l in ff_lambs], "ffn")
    for scope, heads, neurons in CASES:
        case = f"{scope}-{heads}-{neurons}"
        cases.append([case, scope, heads, neurons])
        for name, mask in zip(attention, release_binarize(attn_loaded, scope, heads)):
            tensors[f"{case}/mask.{name}"] = mask.float()
        for name, mask in zip(ffn, release_binarize(ff_loaded, scope, neurons)):
            tensors[f"{case}/mask.{name}"] = mask.float()
    metadata = {"cases": json.dumps(cases), "attention_order": json.dumps(attention), "ffn_order": json.dumps(ffn),
                "script": "Tests/Fixtures/make_ecodiff_fixtures.py"}
    save_sorted(tensors, os.path.join(folder, "expected.safetensors"), metadata)
    print(model_name, len(attention), "attention modules", len(ffn), "FFN modules;", len(cases), "cases")


def save_sorted(tensors, path, metadata):
    """save_file, then rewrite the header with metadata keys sorted (safetensors writes them in hash order)."""
    save_file(tensors, path, metadata=metadata)
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (n - len(text)) if len(text) <= n else b""
    assert len(text) == n, path
    with open(path, "wb") as f:
        f.write(data[:8] + text + data[8 + n:])
    back = load_file(path)
    assert set(back) == set(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors), path
    with safe_open(path, "pt") as f:
        assert f.metadata() == metadata, path


# ----------------------------------------------------------------------------------------------------
# Reader coverage: dtypes, views, shared storages, parameters; zip64; deflate
# ----------------------------------------------------------------------------------------------------

def make_tensor_file():
    g = torch.Generator().manual_seed(7)
    base = torch.randn(4, 6, generator=g)
    shared = torch.randn(10, generator=g)
    tensors = collections.OrderedDict()
    tensors["float32"] = base.clone()
    tensors["float64"] = torch.randn(3, 2, generator=g, dtype=torch.float64)
    tensors["float16"] = torch.randn(5, generator=g).half()
    tensors["bfloat16"] = torch.randn(2, 3, 2, generator=g).bfloat16()
    tensors["transposed"] = base.t()                       # strides (1, 6)
    tensors["offset_view"] = shared[3:8]                    # storage offset 3
    tensors["shared_head"] = shared[:4]                     # same storage as offset_view
    tensors["strided_every_other"] = shared[::2]            # stride 2
    tensors["parameter"] = torch.nn.Parameter(torch.randn(3, generator=g))  # _rebuild_parameter
    tensors["empty"] = torch.zeros(0, 4)
    tensors["scalar"] = torch.tensor(2.5)
    path = os.path.join(OUT, "tensors.pt")
    torch.save(tensors, path)
    fix_serialization_id(path)
    back = torch.load(path, weights_only=True, map_location="cpu")
    assert list(back) == list(tensors)
    save_sorted({k: v.detach().float().contiguous().clone() for k, v in tensors.items()}, os.path.join(OUT, "tensors.safetensors"),
                {"order": json.dumps(list(tensors)), "script": "Tests/Fixtures/make_ecodiff_fixtures.py"})

    with zipfile.ZipFile(path) as source:
        entries = [(i.filename, source.read(i.filename)) for i in source.infolist()]
    # zip64: lower the limits so every offset and the end records take their zip64 forms.
    saved_limit, saved_count = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 64, 4
    try:
        write_zip(os.path.join(OUT, "tensors-zip64.pt"), entries, zipfile.ZIP_STORED)
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved_limit, saved_count
    with open(os.path.join(OUT, "tensors-zip64.pt"), "rb") as f:
        assert b"PK\x06\x06" in f.read(), "no zip64 end record"
    assert torch.load(os.path.join(OUT, "tensors-zip64.pt"), weights_only=True, map_location="cpu").keys() == tensors.keys()
    write_zip(os.path.join(OUT, "tensors-deflated.pt"), entries, zipfile.ZIP_DEFLATED)


def write_zip(path, entries, compression):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            z.writestr(info, data)
    with open(path, "wb") as f:
        f.write(buffer.getvalue())


# ----------------------------------------------------------------------------------------------------
# Malicious pickles (written, never loaded)
# ----------------------------------------------------------------------------------------------------

class SystemPayload:
    def __reduce__(self):
        return (os.system, ("echo PRUNEKIT-PAYLOAD-RAN > /tmp/prunekit-payload-ran",))


class EvalPayload:
    def __reduce__(self):
        return (eval, ("__import__('os').system('echo PRUNEKIT-PAYLOAD-RAN > /tmp/prunekit-payload-ran')",))


class PopenPayload:
    def __reduce__(self):
        return (subprocess.Popen, (["sh", "-c", "echo PRUNEKIT-PAYLOAD-RAN > /tmp/prunekit-payload-ran"],))


def make_malicious():
    folder = os.path.join(OUT, "malicious")
    os.makedirs(folder, exist_ok=True)
    lamb = torch.ones(4, dtype=torch.bfloat16)
    payloads = {"os-system": SystemPayload(), "builtins-eval": EvalPayload(), "subprocess-popen": PopenPayload()}
    expected_globals = {"os-system": b"posix\nsystem\n", "builtins-eval": b"__builtin__\neval\n", "subprocess-popen": b"commands\nPopen\n"}
    for name, payload in payloads.items():
        zipped = os.path.join(folder, f"{name}.pt")
        save_like_ecodiff([lamb, payload], zipped)
        with zipfile.ZipFile(zipped) as z:
            pickled = z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])
        assert expected_globals[name] in pickled, name
        legacy = os.path.join(folder, f"{name}-legacy.pt")
        save_like_ecodiff([lamb, payload], legacy, _use_new_zipfile_serialization=False)
        with open(legacy, "rb") as f:
            assert expected_globals[name] in f.read(), name
    with open(os.path.join(folder, "os-system.pkl"), "wb") as f:
        pickle.dump([1.0, SystemPayload()], f, protocol=2)
    stack_global = os.path.join(folder, "os-system-protocol4.pt")
    save_like_ecodiff([lamb, SystemPayload()], stack_global, pickle_protocol=4)
    with zipfile.ZipFile(stack_global) as z:
        pickled = z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])
    assert b"\x8c\x05posix" in pickled and b"\x93" in pickled, "protocol 4 names the global through STACK_GLOBAL"
    print("malicious:", sorted(os.listdir(folder)))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    for index, model in enumerate(MODELS):
        make_case(model, seed=100 + index)
    make_tensor_file()
    make_malicious()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({total:,} bytes)")


if __name__ == "__main__":
    main()
