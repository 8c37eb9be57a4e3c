"""Reading ``prunekit.json``, the manifest of a PruneKit export (see ``docs/prunekit-json.md``).

The reader checks what a loader relies on and refuses what it cannot understand:

* ``format`` must be ``"prunekit-export"`` and ``format_version`` an integer no newer than
  :data:`FORMAT_VERSION` (both are checked before anything else, so a newer file whose other fields changed
  still gets the version error);
* every module has a ``key``, a ``kind``, ``original_units``, ``kept_units`` and ``kept``, where ``kept`` is
  ``kept_units`` ascending, distinct indices in ``[0, original_units)``, and keys are unique.

Fields this version does not know are ignored, as the format's versioning rule says.
"""

import json
import os
from dataclasses import dataclass, field

from .errors import ManifestError, UnsupportedFormatVersionError

#: The file name inside an export (and at the top of a pruned pipeline folder).
FILE_NAME = "prunekit.json"
#: The value of ``format``.
FORMAT_NAME = "prunekit-export"
#: The newest ``format_version`` this reader understands.
FORMAT_VERSION = 2


@dataclass(frozen=True)
class ModuleEntry:
    """One maskable module: ``kept`` are the original unit indices that survive, ascending."""

    key: str
    kind: str
    original_units: int
    kept_units: int
    kept: tuple


@dataclass(frozen=True)
class Manifest:
    """A parsed ``prunekit.json``. ``raw`` is the whole JSON object, unknown fields included."""

    path: str
    format_version: int
    architecture: str
    criterion: object
    target: object
    seed: object
    parameter_count: int
    source_parameter_count: int
    modules: tuple
    raw: dict = field(repr=False, compare=False)

    def module(self, key):
        """The entry of module ``key``, or ``None``."""
        for entry in self.modules:
            if entry.key == key:
                return entry
        return None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _require(obj, name, check, what, path, where=""):
    if name not in obj:
        raise ManifestError(path, f"{where}{name} is missing")
    value = obj[name]
    if not check(value):
        raise ManifestError(path, f"{where}{name} must be {what}, got {json.dumps(value)[:80]}")
    return value


def _optional(obj, name, check, what, path, where=""):
    value = obj.get(name)
    if value is not None and not check(value):
        raise ManifestError(path, f"{where}{name} must be {what} or null, got {json.dumps(value)[:80]}")
    return value


def parse_manifest(data, path=FILE_NAME):
    """Parses the JSON object ``data`` (already decoded) read from ``path``.

    Raises:
        UnsupportedFormatVersionError: ``format_version`` is newer than :data:`FORMAT_VERSION`.
        ManifestError: any other breach of the format, naming the field (and module key).
    """
    path = str(path)
    if not isinstance(data, dict):
        raise ManifestError(path, "the top level must be a JSON object")
    fmt = _require(data, "format", lambda v: isinstance(v, str), "a string", path)
    if fmt != FORMAT_NAME:
        raise ManifestError(path, f"format is {json.dumps(fmt)}, expected {json.dumps(FORMAT_NAME)}")
    version = _require(data, "format_version", _is_int, "an integer", path)
    if version > FORMAT_VERSION:
        raise UnsupportedFormatVersionError(path, version, FORMAT_VERSION)
    if version < 1:
        raise ManifestError(path, f"format_version must be 1 or more, got {version}")

    architecture = _require(data, "architecture", lambda v: isinstance(v, str) and v, "a non-empty string", path)
    criterion = _optional(data, "criterion", lambda v: isinstance(v, str), "a string", path)
    target = _optional(data, "target", lambda v: _is_int(v) or isinstance(v, float), "a number", path)
    seed = _optional(data, "seed", lambda v: _is_int(v) and v >= 0, "a non-negative integer", path)
    nonnegative = (lambda v: _is_int(v) and v >= 0, "a non-negative integer")
    parameter_count = _require(data, "parameter_count", *nonnegative, path)
    source = _require(data, "source", lambda v: isinstance(v, dict), "an object", path)
    source_count = _require(source, "parameter_count", *nonnegative, path, "source.")
    _require(source, "files", lambda v: isinstance(v, list), "a list", path, "source.")
    _require(data, "removed_parameter_count", _is_int, "an integer", path)
    _require(data, "units", lambda v: isinstance(v, dict), "an object", path)
    raw_modules = _require(data, "modules", lambda v: isinstance(v, list), "a list", path)

    modules = []
    seen = set()
    for index, item in enumerate(raw_modules):
        where = f"modules[{index}]."
        if not isinstance(item, dict):
            raise ManifestError(path, f"modules[{index}] must be an object")
        key = _require(item, "key", lambda v: isinstance(v, str) and v, "a non-empty string", path, where)
        where = f"module {key}: "
        if key in seen:
            raise ManifestError(path, f"{where}listed twice")
        seen.add(key)
        kind = _require(item, "kind", lambda v: isinstance(v, str), "a string", path, where)
        original = _require(item, "original_units", *nonnegative, path, where)
        kept_units = _require(item, "kept_units", *nonnegative, path, where)
        kept = _require(item, "kept", lambda v: isinstance(v, list) and all(_is_int(i) for i in v),
                        "a list of integers", path, where)
        if (len(kept) != kept_units or any(b <= a for a, b in zip(kept, kept[1:]))
                or any(i < 0 or i >= original for i in kept)):
            raise ManifestError(
                path, f"{where}kept must be {kept_units} ascending, distinct indices in 0..<{original}, "
                      f"got {json.dumps(kept)[:80]}")
        modules.append(ModuleEntry(key, kind, original, kept_units, tuple(kept)))

    return Manifest(path, version, architecture, criterion, target, seed, parameter_count, source_count,
                    tuple(modules), data)


def read_manifest(directory):
    """Reads ``directory/prunekit.json``; see :func:`parse_manifest` for what is checked.

    Raises:
        ManifestError: the file is absent, unreadable, not JSON, or breaks the format.
        UnsupportedFormatVersionError: it was written in a newer format version.
    """
    path = os.path.join(str(directory), FILE_NAME)
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ManifestError(path, "the file does not exist (is this a PruneKit export?)") from None
    except OSError as error:
        raise ManifestError(path, f"the file cannot be read: {error.strerror}") from None
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise ManifestError(path, f"not JSON: {error}") from None
    return parse_manifest(data, path)
