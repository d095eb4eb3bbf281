"""Stage 3, with `--inpaint sd` only: the scene grows, view by view, into what the photo never showed.

A stage of its own, so that changing the motion does not repaint the views.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mom_nerfstudio.log import logger
from mom_nerfstudio.progress import progress_bar
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.diffusion_inpaint import (
    DiffusionInpainter,
    DiffusionInpaintSettings,
    diffusion_inpaint_model,
)
from mom_nerfstudio.synthesis.learned.loading import ModelSpec, model_fingerprint
from mom_nerfstudio.synthesis.point_features import COVERAGE_THRESHOLD
from mom_nerfstudio.synthesis.scene import Scene
from mom_nerfstudio.synthesis.scene_growth import grow_scene

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
INPUTS = ("scene", "device")


def active(config: SynthesisConfig) -> bool:
    """Only with `--inpaint sd`; the other hole fillers paint each view's holes when the views are rendered."""
    return config.inpaint == "sd"


def model(config: SynthesisConfig) -> ModelSpec | None:
    """The Stable Diffusion inpainting model of `--inpaint sd`, or None for the other methods."""
    return diffusion_inpaint_model(config.inpaint_model) if config.inpaint == "sd" else None


def key_parts(config: SynthesisConfig, image_path: Path) -> dict[str, object]:
    """The Stable Diffusion model, by its fingerprint."""
    spec = model(config)
    return {"model": model_fingerprint(spec) if spec is not None else None}


def compute(config: SynthesisConfig, scene: Scene, device: torch.device) -> dict[str, np.ndarray]:
    """The invented static points (`InventedPoints.to_arrays`)."""
    settings = DiffusionInpaintSettings(
        config.inpaint_model,
        config.inpaint_prompt,
        config.inpaint_negative_prompt,
        config.inpaint_seed,
        config.inpaint_steps,
    )
    still_cloud = scene.cloud()
    with progress_bar("Inpainting the views (Stable Diffusion)", len(scene.views)) as advance:
        invented = grow_scene(
            lambda index: scene.seen_view(still_cloud, index).render,
            scene.world_to_cameras,
            scene.intrinsics,
            DiffusionInpainter(settings, device),
            COVERAGE_THRESHOLD,
            advance,
        )
    logger.info("Inpainting invented %d points beside the %d of the photo.", len(invented), len(scene.points))
    return invented.to_arrays()
