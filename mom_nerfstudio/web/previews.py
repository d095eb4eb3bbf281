"""Previews of a web scene: the input view's loop as MP4 and GIF, rendered by the model itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mom_nerfstudio.model import Mom4dModel
from mom_nerfstudio.synthesis.previews import write_video
from mom_nerfstudio.web.camera import WebCamera


@torch.no_grad()
def render_view(model: Mom4dModel, camera: WebCamera, width: int | None, loop_time: float) -> np.ndarray:
    """The model's render of `camera` (`width` pixels wide, default its own) at `loop_time`, as an RGB uint8 array."""
    rgb = model.get_outputs_for_camera(camera.cameras(width, time=loop_time).to(model.device))["rgb"]
    return (rgb.clamp(0, 1) * 255).round().byte().cpu().numpy()


def render_loop(model: Mom4dModel, camera: WebCamera, width: int | None = None) -> list[np.ndarray]:
    """The N frames of the loop (t = i / N) seen from `camera`, as RGB uint8 arrays."""
    return [render_view(model, camera, width, index / model.num_frames) for index in range(model.num_frames)]


def write_previews(frames: list[np.ndarray], folder: Path, fps: float) -> list[Path]:
    """Write `preview.mp4` and `preview.gif` into `folder`; returns the files written. Where no MP4 encoder is found,
    `write_video` says so and writes the GIF alone."""
    written = [write_video(Path(folder) / "preview.mp4", frames, fps)]
    if written[0].suffix != ".gif":
        written.append(write_video(Path(folder) / "preview.gif", frames, fps))
    return written
