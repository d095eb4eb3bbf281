"""Optional learned models (depth and inpainting) through transformers and diffusers.

The libraries are imported only when a learned backend is used, so the weight-free defaults never need them.
"""

from dataparsers.learned.loading import (
    ModelSource,
    ModelSpec,
    check_model,
    gpu_memory_guard,
    load_model,
    loaded_model_count,
    model_dtype,
    model_fingerprint,
    release_models,
)

__all__ = [
    "ModelSource",
    "ModelSpec",
    "check_model",
    "gpu_memory_guard",
    "load_model",
    "loaded_model_count",
    "model_dtype",
    "model_fingerprint",
    "release_models",
]
