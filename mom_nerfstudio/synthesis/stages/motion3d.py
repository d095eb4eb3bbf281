"""Stage 5: 3D-MOM, one 3D velocity per moving point that agrees with every view's 2D motion (`--motion-solver`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mom_nerfstudio.log import logger
from mom_nerfstudio.progress import progress_bar
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.motion.fit import MotionFitSettings, fit_3d_motion, fit_settings, image_grid_neighbours
from mom_nerfstudio.synthesis.scene import Scene

NAME = "motion3d"
OPTIONS = ("motion_solver", "motion_solver_steps", "motion_ray_damping", "motion_smoothness")
INPUTS = ("scene", "views", "lifted_motion")


def active(config: SynthesisConfig) -> bool:
    """Always: without 3D motion (`--motion-solver none`) it still reports the lifted motion's inconsistency."""
    return True


def key_parts(config: SynthesisConfig, image_path: Path) -> dict[str, object]:
    """Nothing beyond the options and the views."""
    return {}


def _fit_settings(config: SynthesisConfig) -> MotionFitSettings:
    """The solver's settings from the options; without 3D motion ('none') the lifted prior, not fitted."""
    solver = "lift" if config.motion_solver == "none" else config.motion_solver
    return fit_settings(solver, config.motion_solver_steps, config.motion_ray_damping, config.motion_smoothness)


def compute(
    config: SynthesisConfig, scene: Scene, views: dict[str, np.ndarray], lifted_motion: torch.Tensor
) -> dict[str, np.ndarray]:
    """Per-point velocity (synthesis frame, units per frame) and the multi-view inconsistency before and after."""
    device = scene.device
    flows = torch.from_numpy(views["flows"].astype(np.float32)).to(device)
    visibility = torch.from_numpy(views["visibility"]).to(device)
    settings = _fit_settings(config)
    neighbours = image_grid_neighbours(scene.motion_region, torch.from_numpy(scene.depth).to(device))
    with progress_bar(f"3D-MOM ({settings.solver})", settings.steps) as advance:
        fit = fit_3d_motion(
            scene.points,
            scene.moving,
            scene.world_to_cameras,
            scene.intrinsics,
            flows,
            visibility,
            lifted_motion,
            settings,
            neighbours,
            lambda _: advance(),
        )
    logger.info(
        "3D-MOM: multi-view flow inconsistency %.4f px/frame before (motion lifted from the input view alone), "
        "%.4f after the fit, over %d moving points and %d views.",
        fit.inconsistency_before,
        fit.inconsistency_after,
        int(scene.moving.sum()),
        len(scene.views),
    )
    # Without 3D motion the views are animated by their own 2D motion; the prior's numbers are still reported.
    velocity = torch.zeros_like(fit.velocity) if config.motion_solver == "none" else fit.velocity
    return {
        "velocity": velocity.cpu().numpy(),
        "inconsistency_before": np.float32(fit.inconsistency_before),
        "inconsistency_after": np.float32(fit.inconsistency_after),
    }
