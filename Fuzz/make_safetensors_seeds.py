#!/usr/bin/env python3
"""Writes the seed corpus for the safetensors fuzzer into Fuzz/corpus/safetensors/.

Plain Python (struct + json only, no torch): small valid files of every dtype the safetensors format defines
(float, integer, boolean, 8-bit float, and the packed and complex ones the reader validates but cannot read), the edge
cases it accepts (scalars, zero-size tensors, metadata, padding, unaligned data, escaped keys) and a few
it must reject. Run from the repository root:

    python3 Fuzz/make_safetensors_seeds.py
"""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "safetensors")


def safetensors(tensors, metadata=None, pad_to=8, extra_header=b"", ascii=True):
    """tensors: list of (name, dtype, shape, raw bytes) in data order."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=ascii).encode() + extra_header
    if pad_to:
        text += b" " * (-len(text) % pad_to)
    return struct.pack("<Q", len(text)) + text + data


def seeds():
    f32 = struct.pack("<4f", 1.0, -2.5, float("inf"), float("nan"))
    f16 = struct.pack("<4H", 0x3C00, 0xC100, 0x7C00, 0x0001)  # 1, -2.5, inf, smallest subnormal
    bf16 = struct.pack("<4H", 0x3F80, 0xC020, 0x7F80, 0x7FC0)  # 1, -2.5, inf, nan
    f64 = struct.pack("<4d", 1.0, -2.5, 1e300, -0.0)
    yield "f32", safetensors([("w", "F32", [2, 2], f32)])
    yield "f16", safetensors([("w", "F16", [4], f16)])
    yield "bf16", safetensors([("w", "BF16", [1, 4], bf16)])
    yield "f64", safetensors([("w", "F64", [2, 1, 2], f64)])
    yield "every-dtype", safetensors(
        [("a", "F32", [4], f32), ("b", "F16", [2, 2], f16), ("c", "BF16", [4], bf16), ("d", "F64", [4], f64)],
        metadata={"format": "pt"})
    # Non-float dtypes: each opens; booleans, integers and 8-bit floats read as float32, the packed 4- and 6-bit
    # floats and complex64 are validated but refused on reading.
    yield "i64-position-ids", safetensors(
        [("text_model.embeddings.position_ids", "I64", [1, 4], struct.pack("<4q", 0, 1, 2, 3)),
         ("text_model.embeddings.token_embedding.weight", "F16", [2, 2], f16)])
    yield "i64-inexact", safetensors([("big", "I64", [2], struct.pack("<2q", 16777216, 16777217))])
    yield "integers", safetensors(
        [("u64", "U64", [1], struct.pack("<Q", 2**64 - 2**40)), ("i32", "I32", [2], struct.pack("<2i", -7, 2**31 - 1)),
         ("u32", "U32", [1], struct.pack("<I", 2**32 - 256)), ("i16", "I16", [2], struct.pack("<2h", -32768, 5)),
         ("u16", "U16", [1], struct.pack("<H", 65535)), ("i8", "I8", [2], struct.pack("<2b", -128, 127)),
         ("u8", "U8", [3], bytes([0, 1, 255]))])
    yield "bool", safetensors([("mask", "BOOL", [2, 2], bytes([0, 1, 1, 0]))])
    yield "fp8", safetensors(
        [("e4m3", "F8_E4M3", [4], bytes([0x38, 0x7E, 0x7F, 0x80])), ("e5m2", "F8_E5M2", [4], bytes([0x3C, 0x7C, 0x7D, 0xFB])),
         ("e4m3fnuz", "F8_E4M3FNUZ", [2], bytes([0x40, 0x80])), ("e5m2fnuz", "F8_E5M2FNUZ", [2], bytes([0x40, 0x7F])),
         ("e8m0", "F8_E8M0", [3], bytes([0, 127, 255]))])
    yield "unreadable", safetensors(
        [("c", "C64", [1], struct.pack("<2f", 1.0, -1.0)), ("f4", "F4", [4], bytes([0x12, 0x34])),
         ("f6a", "F6_E2M3", [4], bytes([1, 2, 3])), ("f6b", "F6_E3M2", [4], bytes([4, 5, 6]))])
    yield "scalar", safetensors([("s", "F32", [], struct.pack("<f", 3.0))])
    yield "zero-size", safetensors([("z", "F32", [0, 3], b""), ("w", "F16", [1], f16[:2])])
    yield "metadata-only", safetensors([], metadata={"format": "pt", "note": "caf\u00e9"})
    yield "empty-header", safetensors([])
    yield "unpadded-unaligned", safetensors([("w", "F32", [1], f32[:4]), ("v", "F64", [1], f64[:8])], pad_to=0)
    yield "escaped-key", safetensors([("k\u00e9y\"\\\n\U0001F600", "BF16", [2], bf16[:4])])
    yield "utf8-key", safetensors([("caf\u00e9.\u65e5\u672c", "F16", [2], f16[:4])], metadata={"\u00e9": "\U0001F600"}, ascii=False)
    yield "whitespace", safetensors([("w", "F32", [1], f32[:4])], extra_header=b" \t\r\n")
    # Rejected inputs, as starting points near the boundaries.
    yield "f4-partial-byte", safetensors([("f4", "F4", [3], bytes([0x12, 0x30]))])
    yield "unknown-dtype", safetensors([("x", "I128", [1], b"\0" * 16)])
    yield "empty", b""
    yield "length-only", struct.pack("<Q", 0)
    yield "header-past-end", struct.pack("<Q", 64) + b"{}"
    yield "gap", struct.pack("<Q", 54) + b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' + b"\0" * 8
    # Regression: a zero extent hid an overflowing product of the others; Layout's row-major strides trapped.
    yield "regression-zero-extent-stride-overflow", safetensors([("a", "F32", [0, 4294967296, 4294967296], b"")])
    yield "overlap", safetensors([("a", "F32", [2], f32[:8]), ("b", "F32", [2], f32[:8])]).replace(b"[8,16]", b"[4,12]")


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(data)
    print(f"wrote {len(list(seeds()))} seeds to {OUT}")


if __name__ == "__main__":
    main()
