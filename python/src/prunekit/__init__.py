"""Load PruneKit's pruned exports into stock diffusers.

```python
import prunekit
unet = prunekit.load_pruned("pruned-unet")                 # a diffusers UNet2DConditionModel, pruned widths
pipe = prunekit.load_pruned_pipeline("pruned-sdxl")        # a StableDiffusionXLPipeline with the pruned U-Net
```

See ``docs/prunekit-json.md`` in the PruneKit repository for the ``prunekit.json`` format.
"""

from .errors import (
    ManifestError,
    PruneKitError,
    UnsupportedFormatVersionError,
    UnsupportedModelError,
    WeightMismatchError,
)
from .loading import load_pruned, load_pruned_pipeline
from .manifest import FORMAT_NAME, FORMAT_VERSION, Manifest, ModuleEntry, parse_manifest, read_manifest
from .surgery import RemovedAttention

__version__ = "0.1.0"

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Manifest",
    "ManifestError",
    "ModuleEntry",
    "PruneKitError",
    "RemovedAttention",
    "UnsupportedFormatVersionError",
    "UnsupportedModelError",
    "WeightMismatchError",
    "load_pruned",
    "load_pruned_pipeline",
    "parse_manifest",
    "read_manifest",
]
