"""Stage 3, with `--inpaint sd` only: the scene grows, view by view, into what the photo never showed.

A stage of its own, so that changing the motion does not repaint the views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mom_nerfstudio.log import logger
from mom_nerfstudio.progress import progress_bar
from mom_nerfstudio.synthesis.diffusion_inpaint import DiffusionInpainter, DiffusionInpaintSettings
from mom_nerfstudio.synthesis.learned.loading import model_fingerprint
from mom_nerfstudio.synthesis.point_features import COVERAGE_THRESHOLD
from mom_nerfstudio.synthesis.scene_growth import grow_scene

if TYPE_CHECKING:
    from mom_nerfstudio.synthesis.runner import SceneSynthesis

NAME = "growth"
OPTIONS = (
    "fov_degrees",
    "yaw_degrees",
    "pitch_degrees",
    "orbit_degrees",
    "inpaint_model",
    "inpaint_prompt",
    "inpaint_negative_prompt",
    "inpaint_seed",
    "inpaint_steps",
)
NEEDS = ("depth",)


def active(synthesis: SceneSynthesis) -> bool:
    """Only with `--inpaint sd`; the other hole fillers paint each view's holes when the views are rendered."""
    return synthesis.config.inpaint == "sd"


def key_parts(synthesis: SceneSynthesis) -> dict[str, object]:
    """The Stable Diffusion model, by its fingerprint."""
    model = synthesis.inpaint_model
    return {"model": model_fingerprint(model) if model is not None else None}


def compute(synthesis: SceneSynthesis) -> dict[str, np.ndarray]:
    """The invented static points (`InventedPoints.to_arrays`)."""
    config = synthesis.config
    settings = DiffusionInpaintSettings(
        config.inpaint_model,
        config.inpaint_prompt,
        config.inpaint_negative_prompt,
        config.inpaint_seed,
        config.inpaint_steps,
    )
    still_cloud = synthesis.cloud()
    with progress_bar("Inpainting the views (Stable Diffusion)", len(synthesis.views)) as advance:
        invented = grow_scene(
            lambda index: synthesis.seen_view(still_cloud, index).render,
            synthesis.world_to_cameras,
            synthesis.intrinsics,
            DiffusionInpainter(settings, synthesis.device),
            COVERAGE_THRESHOLD,
            advance,
        )
    logger.info("Inpainting invented %d points beside the %d of the photo.", len(invented), len(synthesis.points))
    return invented.to_arrays()
