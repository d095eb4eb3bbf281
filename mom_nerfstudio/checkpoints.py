"""Loading nerfstudio checkpoints with torch >= 2.6, whose `torch.load` defaults to `weights_only=True`.

nerfstudio's checkpoints hold numpy scalars (the schedulers' learning rates), which the weights-only unpickler
refuses unless they are registered as safe. Registering them lets `ns-viewer`, `ns-render` and `ns-export`
load mom4d checkpoints.
"""

from __future__ import annotations

import numpy as np
import torch


def register_checkpoint_globals() -> None:
    """Allow the numpy types found in nerfstudio checkpoints through torch's weights-only loading."""
    add_safe_globals = getattr(torch.serialization, "add_safe_globals", None)
    if add_safe_globals is None:  # torch < 2.4 loads everything anyway
        return
    scalar = np.core.multiarray.scalar if hasattr(np, "core") else np._core.multiarray.scalar  # type: ignore[attr-defined]
    dtypes = [type(np.dtype(name)) for name in ("float64", "float32", "int64", "int32", "bool")]
    add_safe_globals([scalar, np.dtype, *dtypes])
