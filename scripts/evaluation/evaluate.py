"""Measuring one trained run: fidelity to the input and to the truth, motion against the truth, the loop, speed.

Every motion metric compares with the truth of a synthetic scene, never with the method's own targets:
- 3D velocity of the input view's points against the true velocity (`geometry_and_motion_errors`);
- image motion: optical flow (DIS) between two renders one loop frame apart from a fixed camera, against the true
  image flow of that camera, in the input view (`input_view_motion`) and at the test paths' cameras
  (`novel_view_motion`);
- the loop from the input camera: seam, ghosting and leakage (`loop_quality`, see `loop_metrics`);
- the paper's multi-view consistency of the per-view 2D motions (`view_consistency`, see `motion_metrics`).

Novel-view fidelity is phase-matched (`novel_view_fidelity`): the true texture flows on for ever while a loop
returns to its start, so moving regions can only match the truth near the loop's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.pipelines.base_pipeline import Pipeline

from dataparsers.dataset_format import OPENCV_TO_DATASET_WORLD
from evaluation.detection_metrics import depth_abs_rel
from evaluation.loop_metrics import (
    ghosting_ratio,
    leakage,
    loop_seam_ratio,
    still_region,
)
from evaluation.metrics import (
    flow_endpoint_error,
    psnr,
    relative_flow_error,
    ssim,
    video_flow,
)
from evaluation.motion_metrics import multiview_consistency, velocity_errors
from evaluation.piqe import piqe
from evaluation.rendering import (
    frames_per_second,
    path_cameras,
    render_frames,
    render_loop,
    with_time,
)
from evaluation.runs import TrainedRun
from evaluation.synthetic_ground_truth import TrueViews
from mom_nerfstudio.camera_paths import TEST_TRAJECTORIES, camera_path
from mom_nerfstudio.synthesis.cameras import intrinsics_from_fov
from mom_nerfstudio.synthesis.runner import SceneSynthesis
from mom_nerfstudio.synthesis.stages.dataset import animation_flow, velocity_of

PIQE_STRIDE = 10
"""Every PIQE_STRIDE-th frame of the path videos is scored (PIQE is per image)."""

PHASE_WINDOW = 0.1
"""Moving regions of novel views are scored at loop phases within this fraction of a loop from the loop's start.

At phase tau frames (|tau| small) a loop made by symmetric splatting shows its content moved tau frames, as the
truth does at time tau, blended with a weight |tau| / N of the content moved the other way round the loop; farther
from the start that other part grows to half, and the truth, which never loops, has flowed on. So moving regions
are compared with the truth at the signed phase tau (time t N folded into [-N/2, N/2)) where |tau| <= N / 10:
what is left there is the method's error, not the loop's unavoidable blend. Static regions are compared at every
frame."""

MIN_SCORED_PIXELS = 64
"""A region with fewer pixels than this in a frame is not scored there (too few for a mean, or for SSIM)."""

FLOW_MASK_EROSION = 1
"""Optical flow is compared this many pixels inside the true motion mask: an estimator smooths across the edge
between moving and still content, which says nothing about the method."""

FLOW_TIMES = (0.0, 0.5)
"""Loop times at which the input view's image motion is measured: the loop's start and its middle."""


class GroundTruth(Protocol):
    """What a synthetic scene knows exactly."""

    @property
    def fov_degrees(self) -> float:
        """The photo's true field of view along its long side."""

    @property
    def depth_file(self) -> Path:
        """The input view's true z-depth as a file for `--depth file`."""

    def input_depth(self) -> np.ndarray:
        """True z-depth of the input view, [H, W] in the project's convention (nearest scene depth 1)."""

    def input_velocity(self) -> np.ndarray:
        """True 3D velocity of each input pixel's surface point, [H, W, 3] in the dataset world, units per frame."""

    def input_flow(self) -> np.ndarray:
        """True image motion of the input view, [H, W, 2] in pixels per frame."""

    def input_motion_mask(self) -> np.ndarray:
        """Where the input view moves, bool [H, W]."""

    def sky_mask(self) -> np.ndarray:
        """Where the input view sees sky, bool [H, W]."""

    def frames(self, cameras: Cameras, time_frames: np.ndarray) -> TrueViews:
        """What cameras truly see (frames, motion masks, image flows) at times in frames, through the photo's lens."""


@dataclass
class RenderedPaths:
    """Frames rendered along the four test paths."""

    cameras: dict[str, Cameras]
    frames: dict[str, np.ndarray]
    time_frames: dict[str, np.ndarray]
    """Each frame's loop time in frames, in [0, loop_frames)."""
    loop_frames: int


def input_camera(pipeline: Pipeline) -> Cameras:
    """The input view's camera at t = 0, from a trained pipeline's training cameras."""
    datamanager = pipeline.datamanager
    dataset = datamanager.dataparser.dataset()
    input_image = Path(dataset.frames_of(dataset.input_view)[0]["file_path"]).name
    names = [Path(filename).name for filename in datamanager.train_dataparser_outputs.image_filenames]
    index = names.index(input_image)
    return datamanager.train_dataset.cameras[index : index + 1]


def synthesis_of(run: TrainedRun) -> SceneSynthesis:
    """The (cached) synthesis behind a run's dataset."""
    dataparser_config = run.pipeline.datamanager.dataparser.config
    return SceneSynthesis(dataparser_config.data, dataparser_config)


def render_test_paths(run: TrainedRun, stride: int = 1) -> RenderedPaths:
    """Render the four test camera paths with their loop times (every `stride`-th frame)."""
    dataset = run.pipeline.datamanager.dataparser.dataset()
    camera = dataset.input_camera()
    loop_frames = dataset.num_frames
    cameras, frames, times = {}, {}, {}
    for trajectory in TEST_TRAJECTORIES:
        document = camera_path(trajectory, camera, loop_frames)
        document["camera_path"] = document["camera_path"][::stride]
        cameras[trajectory.name] = path_cameras(document)
        frames[trajectory.name] = render_frames(run.pipeline.model, cameras[trajectory.name])
        times[trajectory.name] = np.array([frame["render_time"] for frame in document["camera_path"]]) * loop_frames
    return RenderedPaths(cameras=cameras, frames=frames, time_frames=times, loop_frames=loop_frames)


def signed_phase(time_frames: np.ndarray, loop_frames: int) -> np.ndarray:
    """Loop times in frames folded into [-N/2, N/2): how far, and on which side, each lies from the loop's start."""
    return (np.asarray(time_frames, dtype=np.float64) + loop_frames / 2.0) % loop_frames - loop_frames / 2.0


def true_path_views(paths: RenderedPaths, truth: GroundTruth) -> dict[str, TrueViews]:
    """What the path cameras truly see, each at its frame's signed loop phase (see PHASE_WINDOW)."""
    return {
        name: truth.frames(paths.cameras[name], signed_phase(paths.time_frames[name], paths.loop_frames))
        for name in paths.frames
    }


def input_fidelity(run: TrainedRun) -> dict[str, float]:
    """PSNR and SSIM of the t = 0 render from the input camera against the (working-resolution) input photo."""
    synthesis = synthesis_of(run)
    render = render_frames(run.pipeline.model, with_time(input_camera(run.pipeline), 0.0))[0]
    target = synthesis.image.rgb
    return {"input_psnr": psnr(render, target), "input_ssim": ssim(render, target)}


def input_loop(run: TrainedRun) -> np.ndarray:
    """The loop seen from the input camera: its N frames at times 0, 1/N, ..., (N - 1)/N."""
    num_frames = synthesis_of(run).config.num_frames
    return render_loop(run.pipeline.model, input_camera(run.pipeline), num_frames)[:-1]


def loop_quality(loop: np.ndarray, truth: GroundTruth | None) -> dict[str, float]:
    """The input view's loop: its seam (always), and its ghosting and leakage against the true motion mask."""
    values = {"loop_seam": loop_seam_ratio(loop)}
    if truth is not None:
        moving = truth.input_motion_mask()
        values["ghosting"] = ghosting_ratio(loop[0], loop[len(loop) // 2], moving)
        values["leakage"] = leakage(loop, moving)
    return values


def input_view_motion(loop: np.ndarray, truth: GroundTruth) -> dict[str, float]:
    """Image motion of the input view's loop against the true flow: DIS flow between the loop frames at each of
    FLOW_TIMES and the frame after, compared inside the (eroded) true motion mask; end-point error in px/frame
    and relative to the true mean speed (1 for no motion)."""
    true_flow = truth.input_flow()
    if true_flow.shape[:2] != loop.shape[1:3]:
        raise ValueError(
            f"the loop is {loop.shape[2]}x{loop.shape[1]} px but the truth {true_flow.shape[1]}x"
            f"{true_flow.shape[0]}; write the scene at the method's working resolution"
        )
    mask = _flow_mask(truth.input_motion_mask())
    starts = [round(time * len(loop)) % len(loop) for time in FLOW_TIMES]
    flows = np.stack([video_flow([loop[start], loop[(start + 1) % len(loop)]])[0] for start in starts])
    return {
        "input_flow_epe": flow_endpoint_error(flows, true_flow, mask),
        "input_flow_rel": relative_flow_error(flows, true_flow, mask),
    }


def novel_view_motion(run: TrainedRun, paths: RenderedPaths, truths: dict[str, TrueViews]) -> dict[str, float]:
    """Image motion at the test paths' cameras against the true flow: each path frame's camera held still and
    rendered again one loop frame later, the DIS flow between the two compared with the camera's true flow inside
    its (eroded) true motion mask. Errors are pooled over the pixels of every frame: end-point error in px/frame,
    and relative to the true mean speed (1 for no motion)."""
    error_sum = speed_sum = pixels = 0.0
    for name, frames in paths.frames.items():
        cameras, truth = paths.cameras[name], truths[name]
        for index, frame in enumerate(frames):
            mask = _flow_mask(truth.motion_mask[index])
            if mask.sum() < MIN_SCORED_PIXELS:
                continue
            later_time = (paths.time_frames[name][index] + 1.0) / paths.loop_frames
            later = render_frames(run.pipeline.model, with_time(cameras[index : index + 1], later_time))[0]
            flow = video_flow([frame, later])[0]
            error_sum += np.linalg.norm(flow - truth.flow[index], axis=-1)[mask].sum()
            speed_sum += np.linalg.norm(truth.flow[index], axis=-1)[mask].sum()
            pixels += mask.sum()
    if pixels == 0 or speed_sum == 0:
        return {}
    return {"novel_flow_epe": float(error_sum / pixels), "novel_flow_rel": float(error_sum / speed_sum)}


def novel_view_fidelity(paths: RenderedPaths, truths: dict[str, TrueViews]) -> dict[str, float]:
    """PSNR/SSIM of the path renders against the truth, phase-matched (see PHASE_WINDOW).

    `gt_psnr`/`gt_ssim`: whole frames within PHASE_WINDOW of the loop's start; `gt_*_moving`: the true motion mask
    in those frames; `gt_*_static`: everything away from the (dilated) true motion mask, in every frame.
    """
    totals: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        totals.setdefault(key, []).append(value)

    for name, frames in paths.frames.items():
        truth = truths[name]
        phases = signed_phase(paths.time_frames[name], paths.loop_frames)
        near_start = np.abs(phases) <= PHASE_WINDOW * paths.loop_frames
        for index, rendered in enumerate(frames):
            true_rgb, moving = truth.rgb[index], truth.motion_mask[index]
            still = still_region(moving)
            if still.sum() >= MIN_SCORED_PIXELS:
                add("gt_psnr_static", psnr(rendered, true_rgb, still))
                add("gt_ssim_static", ssim(rendered, true_rgb, still))
            if not near_start[index]:
                continue
            add("gt_psnr", psnr(rendered, true_rgb))
            add("gt_ssim", ssim(rendered, true_rgb))
            if moving.sum() >= MIN_SCORED_PIXELS:
                add("gt_psnr_moving", psnr(rendered, true_rgb, moving))
                add("gt_ssim_moving", ssim(rendered, true_rgb, moving))
    return {key: float(np.mean(values)) for key, values in totals.items()}


def novel_view_quality(paths: RenderedPaths) -> dict[str, float]:
    """Mean PIQE (no-reference, lower is better) over the path videos."""
    scores = [piqe(frame) for frames in paths.frames.values() for frame in frames[::PIQE_STRIDE]]
    return {"piqe": float(np.mean(scores))}


def geometry_and_motion_errors(run: TrainedRun, truth: GroundTruth) -> dict[str, float]:
    """Depth error of the depth stage and 3D velocity errors of the motion stages of a run's synthesis against the
    truth (see `synthesis_errors`)."""
    return synthesis_errors(synthesis_of(run), truth)


def synthesis_errors(synthesis: SceneSynthesis, truth: GroundTruth) -> dict[str, float]:
    """Depth error of the depth stage and 3D velocity errors of the motion stages against the truth.

    Velocities are compared at the input view's pixels inside the true motion mask. On the water, as 3D vectors
    (`velocity_*`). On the sky, per unit distance from the camera (`sky_velocity_*`): the sky's depth cannot be
    read from one photo (mom4d puts it at its own sky depth, the truth is farther), and what a viewer sees of the
    clouds is their angular motion, which this keeps.
    """
    true_depth = truth.input_depth()
    sky = truth.sky_mask()
    scene = synthesis.scene
    estimated_depth = scene.depth
    if estimated_depth.shape != true_depth.shape:
        raise ValueError(
            f"the working image is {estimated_depth.shape[::-1]} px but the truth "
            f"{true_depth.shape[::-1]}; write the scene at the method's working resolution"
        )
    result = {"depth_abs_rel": depth_abs_rel(estimated_depth, true_depth, ~sky)}
    velocity = synthesis.result("motion3d")["velocity"].reshape(*estimated_depth.shape, 3) @ OPENCV_TO_DATASET_WORLD.T
    true_velocity = truth.input_velocity()
    moving = truth.input_motion_mask()
    water = moving & ~sky
    if water.any():
        errors = velocity_errors(velocity[water], true_velocity[water])
        result["velocity_rel_error"] = errors.median_relative_error
        result["velocity_cosine"] = errors.median_cosine
    clouds = moving & sky
    if clouds.any():
        height, width = true_depth.shape
        method_distance = _distance(estimated_depth, scene.intrinsics.fx, width, height)
        true_focal = intrinsics_from_fov(width, height, truth.fov_degrees).fx
        true_distance = _distance(true_depth, true_focal, width, height)
        errors = velocity_errors(
            velocity[clouds] / method_distance[clouds, None], true_velocity[clouds] / true_distance[clouds, None]
        )
        result["sky_velocity_rel_error"] = errors.median_relative_error
        result["sky_velocity_cosine"] = errors.median_cosine
    return result


def view_consistency(run: TrainedRun) -> dict[str, float]:
    """The multi-view consistency error of a run's synthesis (see `synthesis_consistency`)."""
    return synthesis_consistency(synthesis_of(run))


def synthesis_consistency(synthesis: SceneSynthesis) -> dict[str, float]:
    """The paper's multi-view consistency error (px/frame) of the 2D motions that animate the views' videos: those of
    the orbit views (the views without a look-around rotation, animated by default), each against the input view's
    (see `motion_metrics.multiview_consistency`)."""
    scene = synthesis.scene
    if not scene.moving.any():
        return {}
    orbit = [
        index
        for index, view in enumerate(scene.views)
        if index != 0 and view.yaw_degrees == 0.0 and view.pitch_degrees == 0.0
    ]
    views = synthesis.result("views")
    velocity = velocity_of(scene, synthesis.result("motion3d"))
    flows = np.zeros_like(views["flows"], dtype=np.float32)
    for index in [0, *orbit]:
        flows[index] = animation_flow(synthesis.config, scene, views, velocity, index)
    consistency = multiview_consistency(
        flows,
        views["depths"].astype(np.float32),
        scene.world_to_cameras.cpu().numpy(),
        scene.intrinsics,
        input_view=0,
        views=orbit,
    )
    return {"view_consistency": consistency.mean}


def speed(run: TrainedRun, sizes: tuple[tuple[int, int], ...]) -> dict[str, float]:
    """Rendering rate of the trained 4D scene at the given sizes."""
    camera = input_camera(run.pipeline)
    return {
        f"fps_{width}x{height}": frames_per_second(run.pipeline.model, camera, width, height) for width, height in sizes
    }


def write_path_sheet(
    paths: RenderedPaths, truths: dict[str, TrueViews] | None, destination: Path, per_path: int = 4
) -> Path:
    """A contact sheet of frames along the four paths (each beside its ground truth when there is one)."""
    from mom_nerfstudio.synthesis.previews import contact_sheet, write_image

    tiles, labels = [], []
    for name, frames in paths.frames.items():
        picks = np.linspace(0, len(frames) - 1, per_path).round().astype(int)
        for index in picks:
            tiles.append(frames[index])
            labels.append(f"{name} {index}")
            if truths is not None:
                tiles.append(truths[name].rgb[index])
                labels.append("truth")
    columns = per_path * (2 if truths is not None else 1)
    return write_image(destination, contact_sheet(tiles, columns, labels, tile_width=256))


def _flow_mask(motion_mask: np.ndarray) -> np.ndarray:
    """The true motion mask eroded by FLOW_MASK_EROSION pixels."""
    size = 2 * FLOW_MASK_EROSION + 1
    return cv2.erode(motion_mask.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)


def _distance(depth: np.ndarray, focal: float, width: int, height: int) -> np.ndarray:
    """Distance from the camera [H, W] of the points at z-depth `depth` seen by a centred pinhole camera."""
    rows, cols = np.mgrid[0:height, 0:width] + 0.5
    return depth * np.sqrt(1.0 + ((cols - width / 2.0) / focal) ** 2 + ((rows - height / 2.0) / focal) ** 2)
