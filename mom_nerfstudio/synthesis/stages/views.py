"""Stage 4: the views rendered from the photo's points at rest, their holes filled, and each view's 2D motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from dataparsers.dataset_format import INPAINTED_LEVEL, OBSERVED_LEVEL
from mom_nerfstudio.progress import progress_bar
from mom_nerfstudio.synthesis.cache import file_digest
from mom_nerfstudio.synthesis.cameras import transform_points
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.image_io import to_uint8
from mom_nerfstudio.synthesis.inpaint import fill_holes
from mom_nerfstudio.synthesis.motion.lift import SurfaceSlope
from mom_nerfstudio.synthesis.motion.network import LearnedViewMotion, motion_model_fingerprint
from mom_nerfstudio.synthesis.motion.sources import annotation_path, uses_automatic_motion
from mom_nerfstudio.synthesis.motion.views import hint_field_in_view, projected_point_motion
from mom_nerfstudio.synthesis.point_features import COVERAGE_THRESHOLD, MOVING, OPAQUE
from mom_nerfstudio.synthesis.point_renderer import render_points
from mom_nerfstudio.synthesis.scene import Scene
from mom_nerfstudio.synthesis.scene_growth import InventedPoints, complete_with_invented

NAME = "views"
OPTIONS = (
    "fov_degrees",
    "yaw_degrees",
    "pitch_degrees",
    "orbit_degrees",
    "inpaint",
    "motion",
    "motion_mask",
    "hints",
    "flow",
    "hint_frames",
    "hint_sigma",
    "auto_sky_drift",
    "auto_water_flow",
    "auto_calm_ripple",
    "view_motion",
    "motion_lift",
    "motion_model",
)
INPUTS = ("scene", "invented", "lifted_motion", "motion_network")


def active(config: SynthesisConfig) -> bool:
    """Always: the dataset's static frames are these views."""
    return True


def key_parts(config: SynthesisConfig, image_path: Path) -> dict[str, object]:
    """The annotation beside the photo (no option, but its content is the motion) and the motion network, by their
    content and fingerprint; the loop's length when the motion is the automatic default, whose speeds are shares of
    the frame per loop; the rest of the motion and the photo's opacity follow from the options and the photo."""
    annotation = annotation_path(image_path)
    automatic = uses_automatic_motion(image_path, config.motion, config.motion_mask, config.hints, config.flow)
    return {
        "annotation": file_digest(annotation) if annotation.is_file() else None,
        "motion_model": motion_model_fingerprint(str(config.motion_model)) if config.motion_model is not None else None,
        "automatic_loop_frames": config.num_frames if automatic else None,
    }


def compute(
    config: SynthesisConfig,
    scene: Scene,
    invented: InventedPoints,
    lifted_motion: torch.Tensor,
    motion_network: LearnedViewMotion | None,
) -> dict[str, np.ndarray]:
    """Static renders of all views (t = 0) with hole filling, motion masks, 2D motion and point visibility."""
    intrinsics = scene.intrinsics
    height, width = intrinsics.height, intrinsics.width
    num_views = len(scene.views)
    rgb = np.zeros((num_views, height, width, 3), np.uint8)
    confidence = np.zeros((num_views, height, width), np.uint8)
    motion_masks = np.zeros((num_views, height, width), bool)
    depths = np.zeros((num_views, height, width), np.float16)
    flows = np.zeros((num_views, height, width, 2), np.float16)
    visibility = np.zeros((num_views, len(scene.points)), bool)
    view_motion = _ViewMotion(config, scene, lifted_motion, motion_network)
    still_cloud = scene.cloud()
    with progress_bar(f"Rendering the {num_views} views", num_views) as advance:
        for index in range(num_views):
            seen = scene.seen_view(still_cloud, index)
            visibility[index] = seen.visible.cpu().numpy()
            view = seen.render
            if len(invented):
                world_to_camera = scene.world_to_cameras[index]
                view = complete_with_invented(view, invented, world_to_camera, intrinsics, COVERAGE_THRESHOLD)
            depths[index] = torch.nan_to_num(view.depth, posinf=0.0).cpu().numpy()
            covered = (seen.render.coverage >= COVERAGE_THRESHOLD).cpu().numpy()
            shown = (view.coverage >= COVERAGE_THRESHOLD).cpu().numpy()
            features = seen.features.cpu().numpy()
            filled, inpainted = fill_holes(view.rgb.cpu().numpy(), ~shown, _hole_filler(config))
            opaque = features[..., OPAQUE] >= 0.5
            rgb[index] = to_uint8(filled)
            # Invented pixels (shown, not covered by the photo's points) are guesses, like filled ones.
            guessed = inpainted | (shown & ~covered)
            confidence[index] = np.where(covered & opaque, OBSERVED_LEVEL, np.where(guessed, INPAINTED_LEVEL, 0))
            motion_masks[index] = covered & (features[..., MOVING] >= 0.5)
            if not scene.motion.is_static:
                flows[index] = view_motion(index, filled, motion_masks[index]).astype(np.float16)
            advance()
    return {
        "rgb": rgb,
        "confidence": confidence,
        "depths": depths,
        "motion_masks": motion_masks,
        "flows": flows,
        "visibility": visibility,
    }


def _hole_filler(config: SynthesisConfig) -> str:
    # With --inpaint sd the invented points fill the views; Telea fills the slivers their splats leave open.
    return "telea" if config.inpaint == "sd" else config.inpaint


def resolved_view_motion(config: SynthesisConfig, motion_network: LearnedViewMotion | None) -> str:
    """'shared' or 'per-view' (see `--view-motion`); 'auto' is per-view when the motion network estimates it."""
    if config.view_motion != "auto":
        return config.view_motion
    return "per-view" if motion_network is not None else "shared"


class _ViewMotion:
    """Each view's 2D motion target (px/frame, HxWx2), zero outside the view's motion mask: the lifted input-view
    motion projected into the view (`--view-motion shared`, or a given flow), or the hints spread in the view itself
    (`per-view`, refined by the motion network when there is one)."""

    def __init__(
        self,
        config: SynthesisConfig,
        scene: Scene,
        lifted_motion: torch.Tensor,
        motion_network: LearnedViewMotion | None,
    ) -> None:
        self.config = config
        self.scene = scene
        self.lifted_motion = lifted_motion
        self.motion_network = motion_network
        motion = scene.motion
        self.shared = resolved_view_motion(config, motion_network) == "shared" or motion.flow is not None
        if not self.shared:
            device = scene.device
            self.depth = torch.from_numpy(scene.depth).to(device)
            self.surface = SurfaceSlope.of(self.depth, scene.motion_region)
            self.hint_starts = torch.from_numpy(motion.hint_starts).float().to(device)
            self.hint_velocities = torch.from_numpy(motion.hint_velocities).float().to(device)

    def __call__(self, index: int, view_rgb: np.ndarray, view_mask: np.ndarray) -> np.ndarray:
        scene = self.scene
        world_to_camera = scene.world_to_cameras[index]
        if self.shared:
            points = scene.points
            point_motion = projected_point_motion(points, self.lifted_motion, scene.intrinsics, world_to_camera)
            rendered = render_points(transform_points(points, world_to_camera), point_motion, scene.intrinsics)
            return rendered.features.cpu().numpy() * view_mask[..., None]
        config = self.config
        field = hint_field_in_view(
            view_mask,
            self.hint_starts,
            self.hint_velocities,
            self.depth,
            scene.intrinsics,
            world_to_camera,
            config.hint_sigma,
            config.motion_lift,
            self.surface,
        )
        if self.motion_network is not None:
            field = self.motion_network.predict_view_flow(view_rgb, view_mask, field)
        return field
