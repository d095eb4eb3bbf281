"""Rendering a trained scene for measurement: along camera paths, from the input view over a loop, and timed."""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
from nerfstudio.cameras.camera_paths import get_path_from_json
from nerfstudio.cameras.cameras import Cameras, CameraType
from nerfstudio.models.base_model import Model


def path_cameras(camera_path: dict) -> Cameras:
    """The cameras of a nerfstudio camera-path document (times included), as `ns-render` builds them."""
    return get_path_from_json(camera_path)


def with_time(camera: Cameras, time_value: float) -> Cameras:
    """A copy of a single camera that renders loop time `time_value`."""
    return Cameras(
        camera_to_worlds=camera.camera_to_worlds,
        fx=camera.fx,
        fy=camera.fy,
        cx=camera.cx,
        cy=camera.cy,
        width=camera.width,
        height=camera.height,
        camera_type=camera.camera_type,
        times=torch.full_like(camera.fx, time_value),
    )


def resized(camera: Cameras, width: int, height: int) -> Cameras:
    """A single camera with the same pose and horizontal field of view at another resolution (centred)."""
    scale = width / float(camera.width.reshape(-1)[0])
    return Cameras(
        camera_to_worlds=camera.camera_to_worlds,
        fx=camera.fx * scale,
        fy=camera.fy * scale,
        cx=torch.full_like(camera.cx, width / 2.0),
        cy=torch.full_like(camera.cy, height / 2.0),
        width=width,
        height=height,
        camera_type=CameraType.PERSPECTIVE,
        times=camera.times,
    )


@torch.no_grad()
def render_frames(model: Model, cameras: Cameras) -> np.ndarray:
    """RGB frames [F, H, W, 3] in [0, 1] of every camera of `cameras` (each with its own time)."""
    model.eval()
    frames = []
    for index in range(cameras.shape[0]):
        camera = cameras[index : index + 1].to(model.device)
        frames.append(model.get_outputs_for_camera(camera)["rgb"].clamp(0, 1).cpu().numpy())
    return np.stack(frames)


@torch.no_grad()
def render_loop(model: Model, camera: Cameras, num_frames: int) -> np.ndarray:
    """The loop seen from a fixed camera: frames at times 0, 1/N, ..., (N - 1)/N, then time 1 (= time 0 again)."""
    times = [index / num_frames for index in range(num_frames)] + [1.0]
    return render_frames(model, _stack([with_time(camera, value) for value in times]))


def _stack(cameras: list[Cameras]) -> Cameras:
    return Cameras(
        camera_to_worlds=torch.cat([camera.camera_to_worlds for camera in cameras]),
        fx=torch.cat([camera.fx for camera in cameras]),
        fy=torch.cat([camera.fy for camera in cameras]),
        cx=torch.cat([camera.cx for camera in cameras]),
        cy=torch.cat([camera.cy for camera in cameras]),
        width=torch.cat([camera.width for camera in cameras]),
        height=torch.cat([camera.height for camera in cameras]),
        camera_type=CameraType.PERSPECTIVE,
        times=torch.cat([camera.times for camera in cameras]),
    )


@torch.no_grad()
def frames_per_second(model: Model, camera: Cameras, width: int, height: int, repeats: int = 100) -> float:
    """Rendering rate of the 4D scene at `width` x `height`, deformation included, over times spread across the loop.

    Median of `repeats` timed renders after a warm-up; on a GPU each render is synchronised before its clock stops.
    """
    model.eval()
    target = resized(camera, width, height).to(model.device)
    cuda = target.camera_to_worlds.is_cuda
    durations = []
    for index in range(repeats + 5):
        timed = with_time(target, (index * 0.137) % 1.0)
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        model.get_outputs_for_camera(timed)
        if cuda:
            torch.cuda.synchronize()
        if index >= 5:
            durations.append(time.perf_counter() - started)
    return 1.0 / statistics.median(durations)
