"""Stage 4: the 25 views rendered from the photo's points at rest, their holes filled, and each view's 2D motion."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np
import torch

from dataparsers.dataset_format import INPAINTED_LEVEL, OBSERVED_LEVEL
from mom_nerfstudio.progress import progress_bar
from mom_nerfstudio.synthesis.cameras import transform_points
from mom_nerfstudio.synthesis.image_io import to_uint8
from mom_nerfstudio.synthesis.inpaint import fill_holes
from mom_nerfstudio.synthesis.motion.lift import SurfaceSlope
from mom_nerfstudio.synthesis.motion.network import motion_model_fingerprint
from mom_nerfstudio.synthesis.motion.views import hint_field_in_view, projected_point_motion
from mom_nerfstudio.synthesis.point_features import COVERAGE_THRESHOLD, MOVING, OPAQUE
from mom_nerfstudio.synthesis.point_renderer import render_points
from mom_nerfstudio.synthesis.scene_growth import complete_with_invented

if TYPE_CHECKING:
    from mom_nerfstudio.synthesis.runner import SceneSynthesis

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
NEEDS = ("depth", "growth")


def active(synthesis: SceneSynthesis) -> bool:
    """Always: the dataset's static frames are these views."""
    return True


def key_parts(synthesis: SceneSynthesis) -> dict[str, object]:
    """The motion as resolved (an annotation beside the photo is no option, but its content counts), the photo's
    opacity, the view motion `auto` resolved to, and the motion network by its fingerprint."""
    motion = synthesis.motion_input
    return {
        "motion": _array_digest(motion.mask, motion.hint_starts, motion.hint_velocities, motion.flow),
        "opacity": _array_digest(synthesis.image.opacity_mask),
        "view_motion": synthesis.view_motion,
        "motion_model": (
            motion_model_fingerprint(str(synthesis.motion_model)) if synthesis.motion_model is not None else None
        ),
    }


def compute(synthesis: SceneSynthesis) -> dict[str, np.ndarray]:
    """Static renders of all views (t = 0) with hole filling, motion masks, 2D motion and point visibility."""
    invented = synthesis.invented
    intrinsics = synthesis.intrinsics
    height, width = intrinsics.height, intrinsics.width
    num_views = len(synthesis.views)
    rgb = np.zeros((num_views, height, width, 3), np.uint8)
    confidence = np.zeros((num_views, height, width), np.uint8)
    motion_masks = np.zeros((num_views, height, width), bool)
    depths = np.zeros((num_views, height, width), np.float16)
    flows = np.zeros((num_views, height, width, 2), np.float16)
    visibility = np.zeros((num_views, len(synthesis.points)), bool)
    view_motion = _ViewMotion(synthesis)
    still_cloud = synthesis.cloud()
    with progress_bar(f"Rendering the {num_views} views", num_views) as advance:
        for index in range(num_views):
            seen = synthesis.seen_view(still_cloud, index)
            visibility[index] = seen.visible.cpu().numpy()
            view = seen.render
            if len(invented):
                world_to_camera = synthesis.world_to_cameras[index]
                view = complete_with_invented(view, invented, world_to_camera, intrinsics, COVERAGE_THRESHOLD)
            depths[index] = torch.nan_to_num(view.depth, posinf=0.0).cpu().numpy()
            covered = (seen.render.coverage >= COVERAGE_THRESHOLD).cpu().numpy()
            shown = (view.coverage >= COVERAGE_THRESHOLD).cpu().numpy()
            features = seen.features.cpu().numpy()
            filled, inpainted = fill_holes(view.rgb.cpu().numpy(), ~shown, _hole_filler(synthesis))
            opaque = features[..., OPAQUE] >= 0.5
            rgb[index] = to_uint8(filled)
            # Invented pixels (shown, not covered by the photo's points) are guesses, like filled ones.
            guessed = inpainted | (shown & ~covered)
            confidence[index] = np.where(covered & opaque, OBSERVED_LEVEL, np.where(guessed, INPAINTED_LEVEL, 0))
            motion_masks[index] = covered & (features[..., MOVING] >= 0.5)
            if not synthesis.motion_input.is_static:
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


def _hole_filler(synthesis: SceneSynthesis) -> str:
    # With --inpaint sd the invented points fill the views; Telea fills the slivers their splats leave open.
    return "telea" if synthesis.config.inpaint == "sd" else synthesis.config.inpaint


class _ViewMotion:
    """Each view's 2D motion target (px/frame, HxWx2), zero outside the view's motion mask: the lifted input-view
    motion projected into the view (`--view-motion shared`, or a given flow), or the hints spread in the view itself
    (`per-view`, refined by the motion network when there is one)."""

    def __init__(self, synthesis: SceneSynthesis) -> None:
        self.synthesis = synthesis
        motion = synthesis.motion_input
        self.shared = synthesis.view_motion == "shared" or motion.flow is not None
        if not self.shared:
            device = synthesis.device
            self.depth = torch.from_numpy(synthesis.depth).to(device)
            self.surface = SurfaceSlope.of(self.depth, synthesis.motion_region)
            self.hint_starts = torch.from_numpy(motion.hint_starts).float().to(device)
            self.hint_velocities = torch.from_numpy(motion.hint_velocities).float().to(device)

    def __call__(self, index: int, view_rgb: np.ndarray, view_mask: np.ndarray) -> np.ndarray:
        synthesis = self.synthesis
        world_to_camera = synthesis.world_to_cameras[index]
        if self.shared:
            points = synthesis.points
            point_motion = projected_point_motion(
                points, synthesis.lifted_motion, synthesis.intrinsics, world_to_camera
            )
            rendered = render_points(transform_points(points, world_to_camera), point_motion, synthesis.intrinsics)
            return rendered.features.cpu().numpy() * view_mask[..., None]
        config = synthesis.config
        field = hint_field_in_view(
            view_mask,
            self.hint_starts,
            self.hint_velocities,
            self.depth,
            synthesis.intrinsics,
            world_to_camera,
            config.hint_sigma,
            config.motion_lift,
            self.surface,
        )
        if synthesis.motion_network is not None:
            field = synthesis.motion_network.predict_view_flow(view_rgb, view_mask, field)
        return field


def _array_digest(*arrays: np.ndarray | None) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        if array is not None:
            digest.update(np.ascontiguousarray(array).tobytes())
            digest.update(str(array.shape).encode())
    return digest.hexdigest()
