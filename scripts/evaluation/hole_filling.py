"""Measuring hole filling against the truth on the procedural landscapes.

- `hole_views`: the synthesised views of a landscape's photo exactly as the synthesis renders them before their
  holes are filled (same cloud, views and coverage threshold), each with the true render from its camera;
- `FILLERS`: the hole fillers compared, the project's and OpenCV's, plus optional ones whose packages are
  installed (OpenCV contrib's FSR, `patchmatch-cython`);
- `path_coverage`: what a test camera path shows beyond the photo's frame (and beyond all 25 views), from the
  truth's geometry: per frame, the pixels whose true surface point projects outside the input image.

The synthesis of a landscape here uses its true depth (`--depth file`), so that the seen pixels of a view agree
with the truth and only the filled ones differ: the measure is of the filling, not of the depth.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from dataparsers.dataset_format import opengl_camera_to_world
from evaluation.benchmark import Scene
from evaluation.synthetic_landscape import DEPTH_FILE
from evaluation.synthetic_render import render
from mom_nerfstudio.camera_paths import (
    TEST_TRAJECTORIES,
    InputCamera,
    Trajectory,
    camera_path,
)
from mom_nerfstudio.synthesis.cameras import (
    Intrinsics,
    intrinsics_from_fov,
    pixel_grid,
    project_points,
    unproject_pixels,
)
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.inpaint import opencv_fill
from mom_nerfstudio.synthesis.point_features import COVERAGE_THRESHOLD
from mom_nerfstudio.synthesis.point_renderer import NEAR_PLANE
from mom_nerfstudio.synthesis.reflect_fill import (
    mirror_fill,
    push_pull_fill,
    reflect_fill,
)
from mom_nerfstudio.synthesis.runner import SceneSynthesis

Filler = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(rendered RGB float32 HxWx3 in [0, 1], holes bool HxW) -> the RGB with its holes filled."""

_OPENCV_TO_OPENGL_CAMERA = np.array([1.0, -1.0, -1.0])
HIDDEN_TOLERANCE = 0.05
"""A point more than this fraction behind the photo's true depth at its pixel was hidden from the photo."""


def _uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def _fsr_fast(rgb: np.ndarray, holes: np.ndarray) -> np.ndarray:
    filled = np.zeros(rgb.shape, np.uint8)
    # xphoto's mask marks the pixels to keep (nonzero), the opposite of cv2.inpaint's.
    cv2.xphoto.inpaint(_uint8(rgb), (~holes).astype(np.uint8) * 255, filled, cv2.xphoto.INPAINT_FSR_FAST)
    return filled.astype(np.float32) / 255.0


def _patchmatch(rgb: np.ndarray, holes: np.ndarray) -> np.ndarray:
    from patchmatch_cython import inpaint_pyramid

    return inpaint_pyramid(_uint8(rgb), holes, seed=0).astype(np.float32) / 255.0


def available_fillers() -> dict[str, Filler]:
    """The hole fillers to compare: the project's, OpenCV's, and the optional ones whose packages are installed."""
    fillers: dict[str, Filler] = {
        "telea": lambda rgb, holes: opencv_fill(rgb, holes, cv2.INPAINT_TELEA),
        "navier-stokes": lambda rgb, holes: opencv_fill(rgb, holes, cv2.INPAINT_NS),
        "push-pull": push_pull_fill,
        "mirror": mirror_fill,
        "reflect": reflect_fill,
    }
    if hasattr(cv2, "xphoto"):
        fillers["fsr-fast"] = _fsr_fast
    if importlib.util.find_spec("patchmatch_cython") is not None:
        fillers["patchmatch"] = _patchmatch
    return fillers


@dataclass(frozen=True)
class HoleView:
    """One synthesised view before filling, with the truth seen from its camera."""

    name: str
    rendered: np.ndarray  # float32 HxWx3: the photo's points seen from the view, black in the holes
    holes: np.ndarray  # bool HxW: pixels the points do not cover (those the synthesis fills)
    truth: np.ndarray  # float32 HxWx3: the landscape rendered from the view's camera


def true_depth_synthesis(scene: Scene, cache_dir: Path) -> SceneSynthesis:
    """The synthesis of a landscape's photo with its true depth and its own field of view (default options else)."""
    if scene.truth is None:
        raise ValueError(f"{scene.name} has no ground truth to take the depth from")
    config = SynthesisConfig(
        depth="file",
        depth_file=scene.truth.folder / DEPTH_FILE,
        fov_degrees=scene.truth.fov_degrees,
        cache_dir=cache_dir,
        device="cpu",
    )
    return SceneSynthesis(scene.photo, config)


def hole_views(
    synthesis: SceneSynthesis, scene: Scene, indices: list[int], supersampling: int = 1
) -> Iterator[HoleView]:
    """The views `indices` of `synthesis` as the synthesis renders them before filling, each with its true render."""
    lifted = synthesis.scene
    still_cloud = lifted.cloud()
    for index in indices:
        view = lifted.views[index]
        seen = lifted.seen_view(still_cloud, index).render
        holes = (seen.coverage < COVERAGE_THRESHOLD).cpu().numpy()
        rendered = seen.rgb.cpu().numpy() * ~holes[..., None]
        pose = opengl_camera_to_world(view.cam_to_world.numpy())
        truth = render(scene.truth.scene, pose, lifted.intrinsics, 0.0, supersampling=supersampling)
        yield HoleView(view.name, rendered.astype(np.float32), holes, truth.rgb.cpu().numpy().astype(np.float32))


def near_band(holes: np.ndarray, width_px: float) -> np.ndarray:
    """The hole pixels at most `width_px` from a seen pixel: the part of a hole that a test path can show."""
    distance = cv2.distanceTransform(holes.astype(np.uint8), cv2.DIST_L2, 5)
    return holes & (distance <= width_px)


# ---- what the test paths show beyond the photo ----


@dataclass(frozen=True)
class FrameCoverage:
    """What one frame of a path shows that the photo, or every synthesised view, never framed."""

    outside_input: np.ndarray  # bool HxW: the true surface point projects outside the photo (or behind it)
    outside_views: np.ndarray  # bool HxW: ... outside every one of the 25 synthesised views
    hidden_in_input: np.ndarray  # bool HxW: inside the photo's frame, but behind what the photo shows there


def _world_points(depth: np.ndarray, pose: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """World points [H, W, 3] of a z-depth map seen by an OpenGL camera-to-world `pose`."""
    pixels = pixel_grid(intrinsics.height, intrinsics.width)
    camera = unproject_pixels(pixels, torch.from_numpy(depth).float(), intrinsics).numpy() * _OPENCV_TO_OPENGL_CAMERA
    return camera @ pose[:3, :3].T + pose[:3, 3]


def _project(points: np.ndarray, pose: np.ndarray, intrinsics: Intrinsics) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel coordinates, z-depth and in-frame flag of world points seen by an OpenGL camera-to-world `pose`."""
    camera = ((points - pose[:3, 3]) @ pose[:3, :3]) * _OPENCV_TO_OPENGL_CAMERA
    uv, z = project_points(torch.from_numpy(camera).float(), intrinsics)
    uv, z = uv.numpy(), z.numpy()
    inside = (
        (z > NEAR_PLANE)
        & (uv[..., 0] >= 0)
        & (uv[..., 0] < intrinsics.width)
        & (uv[..., 1] >= 0)
        & (uv[..., 1] < intrinsics.height)
    )
    return uv, z, inside


def frame_coverage(
    depth: np.ndarray,
    pose: np.ndarray,
    intrinsics: Intrinsics,
    input_pose: np.ndarray,
    input_depth: np.ndarray,
    view_poses: list[np.ndarray],
) -> FrameCoverage:
    """Coverage of one frame (true z-depth `depth` from OpenGL `pose`) by the photo and by the views.

    The photo and the views share `intrinsics` (their size may differ from `input_depth`'s: only the frame counts).
    """
    points = _world_points(depth, pose, intrinsics)
    uv, z, inside = _project(points, input_pose, intrinsics)
    in_height, in_width = input_depth.shape
    columns = np.clip((uv[..., 0] * in_width / intrinsics.width).astype(np.int64), 0, in_width - 1)
    rows = np.clip((uv[..., 1] * in_height / intrinsics.height).astype(np.int64), 0, in_height - 1)
    hidden = inside & (z > input_depth[rows, columns] * (1.0 + HIDDEN_TOLERANCE))
    in_some_view = np.zeros(depth.shape, bool)
    for view_pose in view_poses:
        in_some_view |= _project(points, view_pose, intrinsics)[2]
    return FrameCoverage(outside_input=~inside, outside_views=~in_some_view, hidden_in_input=hidden)


def edge_runs(mask: np.ndarray) -> dict[str, np.ndarray]:
    """For each side of `mask`, the run of True pixels from that edge inwards, along the lines that cross the
    middle half of the side (so that a band along the next side, which runs into the corners, does not count)."""
    height, width = mask.shape
    middle_columns = slice(width // 4, max(width // 4 + 1, 3 * width // 4))
    middle_rows = slice(height // 4, max(height // 4 + 1, 3 * height // 4))

    def runs_from_start(lines: np.ndarray) -> np.ndarray:
        # lines: [N, length]; the index of the first False is the run length (all True: the whole line).
        return np.where(lines.all(axis=1), lines.shape[1], np.argmin(lines, axis=1))

    return {
        "top": runs_from_start(mask[:, middle_columns].T),
        "bottom": runs_from_start(mask[::-1, middle_columns].T),
        "left": runs_from_start(mask[middle_rows]),
        "right": runs_from_start(mask[middle_rows, ::-1]),
    }


def crop_to_exclude(mask: np.ndarray) -> int:
    """The smallest border crop (the same on every side) that leaves no True pixel of `mask` in the frame."""
    rows, columns = np.nonzero(mask)
    if len(rows) == 0:
        return 0
    height, width = mask.shape
    to_edge = np.minimum(np.minimum(rows + 1, height - rows), np.minimum(columns + 1, width - columns))
    return int(to_edge.max())


@dataclass(frozen=True)
class PathCoverage:
    """Over sampled frames of one test path: how wide the band beyond the photo's frame gets (pixels of the frame)."""

    path: str
    width: int
    height: int
    band_max: dict[str, int]
    """Per side, the deepest run of pixels outside the photo's frame from that edge (along the middle half of the
    side), over every frame."""
    band_mean: dict[str, float]
    """Per side, the largest (over frames) mean of those runs."""
    crop: int
    """The border crop that removes every pixel outside the photo's frame from every frame."""
    outside_input: float
    """Largest fraction of a frame outside the photo's frame."""
    outside_views: float
    """Largest fraction of a frame outside all 25 views."""
    hidden_in_input: float
    """Largest fraction of a frame inside the photo's frame but hidden behind its content (disocclusions)."""


def path_coverage(
    scene: Scene,
    synthesis: SceneSynthesis,
    width: int,
    frames_per_path: int = 9,
    trajectories: tuple[Trajectory, ...] = TEST_TRAJECTORIES,
) -> list[PathCoverage]:
    """Coverage of the default test paths of `scene` (rendered `width` px wide), from the truth's geometry."""
    if scene.truth is None:
        raise ValueError(f"{scene.name} has no ground truth to measure coverage on")
    photo_height, photo_width = synthesis.image.rgb.shape[:2]
    height = max(1, round(width * photo_height / photo_width))
    intrinsics = intrinsics_from_fov(width, height, synthesis.config.fov_degrees)
    input_pose = opengl_camera_to_world(np.eye(4))
    camera = InputCamera(input_pose, width, height, math.degrees(2.0 * math.atan(height / (2.0 * intrinsics.fy))))
    view_poses = [opengl_camera_to_world(view.cam_to_world.numpy()) for view in synthesis.scene.views]
    input_depth = scene.truth.input_depth()
    results = []
    for trajectory in trajectories:
        document = camera_path(trajectory, camera, synthesis.config.num_frames)["camera_path"]
        picks = np.unique(np.linspace(0, len(document) - 1, frames_per_path).round().astype(int))
        coverages = []
        for pick in picks:
            pose = np.asarray(document[pick]["camera_to_world"], dtype=np.float64).reshape(4, 4)
            depth = render(scene.truth.scene, pose, intrinsics, 0.0).depth.cpu().numpy()
            coverages.append(frame_coverage(depth, pose, intrinsics, input_pose, input_depth, view_poses))
        runs = [edge_runs(coverage.outside_input) for coverage in coverages]
        results.append(
            PathCoverage(
                path=trajectory.name,
                width=width,
                height=height,
                band_max={side: int(max(run[side].max() for run in runs)) for side in runs[0]},
                band_mean={side: float(max(run[side].mean() for run in runs)) for side in runs[0]},
                crop=max(crop_to_exclude(coverage.outside_input) for coverage in coverages),
                outside_input=max(float(coverage.outside_input.mean()) for coverage in coverages),
                outside_views=max(float(coverage.outside_views.mean()) for coverage in coverages),
                hidden_in_input=max(float(coverage.hidden_in_input.mean()) for coverage in coverages),
            )
        )
    return results
