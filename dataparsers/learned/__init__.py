"""Optional learned models (depth, inpainting, sky and water segmentation) through transformers and diffusers.

The libraries are imported only when a learned backend is used, so the weight-free defaults never need them.
"""

from dataparsers.learned.loading import (
    DescribedModel,
    ModelSource,
    ModelSpec,
    TransformersModel,
    cached_model,
    check_model,
    file_fingerprint,
    gpu_memory_guard,
    load_model,
    loaded_model_count,
    model_dtype,
    model_fingerprint,
    release_models,
    transformers_loader,
)

__all__ = [
    "DescribedModel",
    "ModelSource",
    "ModelSpec",
    "TransformersModel",
    "cached_model",
    "check_model",
    "file_fingerprint",
    "gpu_memory_guard",
    "load_model",
    "loaded_model_count",
    "model_dtype",
    "model_fingerprint",
    "release_models",
    "transformers_loader",
]
