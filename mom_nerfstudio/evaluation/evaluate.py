"""Measuring one trained run: fidelity to the input, to ground truth, motion, loop seam, quality and speed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch
from nerfstudio.cameras.cameras import Cameras

from dataparsers.dataset_writer import OPENCV_TO_DATASET_WORLD
from dataparsers.motion_field import resize_flow
from dataparsers.synthesis import SceneSynthesis
from mom_nerfstudio.camera_paths import TEST_TRAJECTORIES, InputCamera, camera_path
from mom_nerfstudio.evaluation.detection_metrics import depth_abs_rel
from mom_nerfstudio.evaluation.metrics import flow_endpoint_error, loop_seam, masked_metrics, psnr, ssim, video_flow
from mom_nerfstudio.evaluation.piqe import piqe
from mom_nerfstudio.evaluation.rendering import frames_per_second, path_cameras, render_frames, render_loop, with_time
from mom_nerfstudio.evaluation.runs import TrainedRun

# Every PIQE_STRIDE-th frame of the path videos is scored (PIQE is per image).
PIQE_STRIDE = 10


class GroundTruth(Protocol):
    """What a synthetic scene knows exactly."""

    def input_depth(self) -> np.ndarray:
        """True z-depth of the input view, [H, W] in the project's convention (nearest scene depth 1)."""

    def input_velocity(self) -> np.ndarray:
        """True 3D velocity of each input pixel's surface point, [H, W, 3] in the dataset world, units per frame."""

    def input_motion_mask(self) -> np.ndarray:
        """Where the input view moves, bool [H, W]."""

    def sky_mask(self) -> np.ndarray:
        """Where the input view sees sky (no finite depth), bool [H, W]."""

    def frames(self, cameras: Cameras, time_frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """True RGB frames [F, H, W, 3] and motion masks [F, H, W] for cameras at times (in frames)."""


@dataclass
class RenderedPaths:
    """Frames rendered along the four test paths."""

    cameras: dict[str, Cameras]
    frames: dict[str, np.ndarray]
    time_frames: dict[str, np.ndarray]


def input_camera(run: TrainedRun) -> Cameras:
    """The input view's camera at t = 0, from the run's training cameras."""
    datamanager = run.pipeline.datamanager
    transforms = datamanager.dataparser.synthesized().transforms
    input_image = f"{transforms['mom4d']['input_view']}_t000.png"
    names = [Path(filename).name for filename in datamanager.train_dataparser_outputs.image_filenames]
    index = names.index(input_image)
    return datamanager.train_dataset.cameras[index : index + 1]


def synthesis_of(run: TrainedRun) -> SceneSynthesis:
    """The (cached) synthesis behind a run's dataset."""
    dataparser_config = run.pipeline.datamanager.dataparser.config
    return SceneSynthesis(dataparser_config.data, dataparser_config)


def render_test_paths(run: TrainedRun, stride: int = 1) -> RenderedPaths:
    """Render the four test camera paths with their loop times (every `stride`-th frame)."""
    transforms = run.pipeline.datamanager.dataparser.synthesized().transforms
    camera = InputCamera.from_transforms(transforms)
    loop_frames = int(transforms["mom4d"]["num_frames"])
    cameras, frames, times = {}, {}, {}
    for trajectory in TEST_TRAJECTORIES:
        document = camera_path(trajectory, camera, loop_frames)
        document["camera_path"] = document["camera_path"][::stride]
        cameras[trajectory.name] = path_cameras(document)
        frames[trajectory.name] = render_frames(run.pipeline.model, cameras[trajectory.name])
        times[trajectory.name] = np.array([frame["render_time"] for frame in document["camera_path"]]) * loop_frames
    return RenderedPaths(cameras=cameras, frames=frames, time_frames=times)


def input_fidelity(run: TrainedRun) -> dict[str, float]:
    """PSNR and SSIM of the t = 0 render from the input camera against the (working-resolution) input photo."""
    synthesis = synthesis_of(run)
    render = render_frames(run.pipeline.model, with_time(input_camera(run), 0.0))[0]
    target = synthesis.image.rgb
    return {"input_psnr": psnr(render, target), "input_ssim": ssim(render, target)}


def motion_fidelity(run: TrainedRun, dynamic: bool = True) -> dict[str, float]:
    """Flow end-point error of the input view's rendered loop against the target motion, and the loop seam."""
    synthesis = synthesis_of(run)
    num_frames = synthesis.config.num_frames
    frames = render_loop(run.pipeline.model, input_camera(run), num_frames)
    seam = loop_seam(frames[0], frames[-1])
    last_step = float(np.abs(frames[-2] - frames[-1]).mean())
    mean_step = float(np.abs(np.diff(frames[:-1], axis=0)).mean())
    result = {
        "loop_seam_255": seam.max_abs_difference_255,
        "seam_step_ratio": last_step / mean_step if mean_step > 0 else 0.0,
    }
    mask = synthesis.motion_input.mask
    if dynamic and mask.any():
        target = synthesis.input_view_flow()
        height, width = frames.shape[1:3]
        if target.shape[:2] != (height, width):
            target = resize_flow(target, (height, width))
            mask = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
        result["flow_epe"] = flow_endpoint_error(video_flow(frames[:-1]), target, mask)
    return result


def novel_view_quality(paths: RenderedPaths) -> dict[str, float]:
    """Mean PIQE (no-reference, lower is better) over the path videos."""
    scores = [piqe(frame) for frames in paths.frames.values() for frame in frames[::PIQE_STRIDE]]
    return {"piqe": float(np.mean(scores))}


def ground_truth_fidelity(paths: RenderedPaths, truth: GroundTruth) -> dict[str, float]:
    """PSNR/SSIM of the path renders against the true frames, everywhere and inside the true motion mask."""
    totals: dict[str, list[float]] = {}
    for name, frames in paths.frames.items():
        true_frames, true_masks = truth.frames(paths.cameras[name], paths.time_frames[name])
        for rendered, true, mask in zip(frames, true_frames, true_masks):
            metrics = masked_metrics(rendered, true, mask) if mask.sum() > 64 else {"psnr": psnr(rendered, true), "ssim": ssim(rendered, true)}
            for key, value in metrics.items():
                totals.setdefault(f"gt_{key}", []).append(value)
    return {key: float(np.mean(values)) for key, values in totals.items()}


def geometry_and_motion_errors(run: TrainedRun, truth: GroundTruth) -> dict[str, float]:
    """Depth error of the depth stage and 3D velocity error of 3D-MOM against the truth (input view pixels)."""
    synthesis = synthesis_of(run)
    true_depth = truth.input_depth()
    solid = ~truth.sky_mask()
    estimated = synthesis.depth
    moving = truth.input_motion_mask() & solid & synthesis.motion_input.mask
    result = {"depth_abs_rel": depth_abs_rel(estimated, true_depth, solid)}
    if moving.any():
        velocity = synthesis.motion_arrays["velocity"].reshape(*estimated.shape, 3) @ OPENCV_TO_DATASET_WORLD.T
        true_velocity = truth.input_velocity()
        error = np.linalg.norm(velocity[moving] - true_velocity[moving], axis=-1)
        speed = np.linalg.norm(true_velocity[moving], axis=-1)
        result["velocity_rel_error"] = float(np.median(error / np.maximum(speed, 1e-9)))
    return result


def speed(run: TrainedRun, sizes: tuple[tuple[int, int], ...]) -> dict[str, float]:
    """Rendering rate of the trained 4D scene at the given sizes."""
    camera = input_camera(run)
    return {f"fps_{width}x{height}": frames_per_second(run.pipeline.model, camera, width, height) for width, height in sizes}


def write_path_sheet(paths: RenderedPaths, truth: GroundTruth | None, destination: Path, per_path: int = 4) -> Path:
    """A contact sheet of frames along the four paths (each beside its ground truth when there is one)."""
    from dataparsers.previews import contact_sheet, write_image

    tiles, labels = [], []
    for name, frames in paths.frames.items():
        picks = np.linspace(0, len(frames) - 1, per_path).round().astype(int)
        true_frames = truth.frames(paths.cameras[name][torch.from_numpy(picks)], paths.time_frames[name][picks])[0] if truth else None
        for column, index in enumerate(picks):
            tiles.append(frames[index])
            labels.append(f"{name} {index}")
            if true_frames is not None:
                tiles.append(true_frames[column])
                labels.append("truth")
    columns = per_path * (2 if truth else 1)
    return write_image(destination, contact_sheet(tiles, columns, labels, tile_width=256))
