"""Stage 2: the depth of the photo (`--depth`), with the sky it was estimated against."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mom_nerfstudio.synthesis.depth import estimate_depth
from mom_nerfstudio.synthesis.learned.loading import model_fingerprint

if TYPE_CHECKING:
    from mom_nerfstudio.synthesis.runner import SceneSynthesis

NAME = "depth"
OPTIONS = ("max_resolution", "alpha_mode", "depth", "depth_model", "depth_file", "depth_file_kind")
NEEDS = ("segmentation",)


def active(synthesis: SceneSynthesis) -> bool:
    """Always: every later stage stands on the depth."""
    return True


def key_parts(synthesis: SceneSynthesis) -> dict[str, object]:
    """The learned model, by its fingerprint."""
    model = synthesis.depth_model
    return {"model": model_fingerprint(model) if model is not None else None}


def compute(synthesis: SceneSynthesis) -> dict[str, np.ndarray]:
    """The depth (HxW, the project's convention) and the sky mask (bool HxW)."""
    config = synthesis.config
    sky = synthesis.sky_and_water().sky
    depth = estimate_depth(
        synthesis.image.rgb,
        sky,
        method=config.depth,
        depth_file=config.depth_file,
        depth_file_kind=config.depth_file_kind,
        model=config.depth_model,
        device=synthesis.device,
        photo_size=synthesis.image.original_size,
    )
    return {"depth": depth.astype(np.float32), "sky": sky}
