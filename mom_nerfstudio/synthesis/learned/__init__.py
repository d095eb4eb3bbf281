"""Optional learned models: depth, inpainting and sky and water segmentation through transformers and diffusers,
and 3D-Cinemagraphy's motion network from its checkpoint file.

The libraries are imported only when a learned backend is used, so the weight-free defaults never need them.
"""

from mom_nerfstudio.synthesis.learned.loading import (
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
