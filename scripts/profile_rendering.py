"""Where rendering a frame of a trained mom4d scene spends its time: frames per second and a breakdown per part.

    python scripts/profile_rendering.py --load-config outputs/<photo>/mom4d/<timestamp>/config.yml

Renders the input view at loop times spread over the loop, at each size, and reports the median frame rate (the
GPU synchronised after every frame). Then renders a window of frames under `torch.profiler`, with the parts of a
frame marked (posing the Gaussians of the loop's copies, rasterising them, blending them), and prints the time per
part, the kernel launches and host waits per frame, and the heaviest operations.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
import tyro
from nerfstudio.utils.eval_utils import eval_setup

import mom_nerfstudio.model as model_module
from evaluation.metrics import psnr
from evaluation.rendering import frames_per_second, resized, with_time

PARTS = ("pose copies", "rasterise copies", "blend copies")


@dataclass
class RenderProfile:
    """Profile the rendering of a trained mom4d run."""

    load_config: Path
    """config.yml of the trained run."""
    sizes: list[tuple[int, int]] = field(default_factory=lambda: [(1024, 576), (1920, 1080)])
    """Width and height of the frames to time."""
    profiled_frames: int = 20
    """Frames rendered under the profiler (at the first size)."""
    output: Optional[Path] = None
    """Write the frame rates and the per-part times here as JSON."""
    frames: Optional[Path] = None
    """Save the frames rendered at `FRAME_TIMES` (at the first size) here (.npy), to compare another version with."""
    compare_with: Optional[Path] = None
    """Frames saved by `--frames` of another version: report how far this version's frames are from them."""


FRAME_TIMES = (0.0, 0.3, 0.75)
"""Loop times of the frames compared between versions."""


def marked(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, its calls marked in the profiler's trace as `label`."""

    def call(*args: Any, **kwargs: Any) -> Any:
        with torch.profiler.record_function(label):
            return function(*args, **kwargs)

    return call


@contextlib.contextmanager
def parts_marked(model: torch.nn.Module) -> Iterator[None]:
    """Mark the parts of a frame (the model's own methods and the functions it calls) for the profiler."""
    candidates = (
        [(model, "gaussians_at")],
        [(model_module, "rasterize_copies"), (model_module, "rasterization")],  # the latter: copy by copy
        [(model_module, "blend_copies")],
    )
    targets = [next((owner, name) for owner, name in options if hasattr(owner, name)) for options in candidates]
    originals = [getattr(owner, name) for owner, name in targets]
    for label, (owner, name), original in zip(PARTS, targets, originals):
        setattr(owner, name, marked(label, original))
    try:
        yield
    finally:
        for (owner, name), original in zip(targets, originals):
            setattr(owner, name, original)


def per_frame_summary(averages: Any, frames: int) -> dict[str, Any]:
    """Milliseconds of CPU and GPU per frame in each part, and kernel launches and host waits per frame."""
    parts: dict[str, dict[str, float]] = {label: {"cpu_ms": 0.0, "cuda_ms": 0.0} for label in PARTS}
    counts = {"kernel_launches": 0, "host_waits": 0}
    for event in averages:
        if event.key in parts:
            # A marked range appears twice, as a CPU range and as its GPU annotation: keep each one's total.
            parts[event.key]["cpu_ms"] = max(parts[event.key]["cpu_ms"], event.cpu_time_total / 1000.0 / frames)
            parts[event.key]["cuda_ms"] = max(parts[event.key]["cuda_ms"], event.device_time_total / 1000.0 / frames)
        elif event.key in ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx"):
            counts["kernel_launches"] += event.count
        elif event.key in ("cudaStreamSynchronize", "cudaDeviceSynchronize"):
            counts["host_waits"] += event.count
    return {"parts": parts, **{name: count / frames for name, count in counts.items()}}


def frame_differences(frames: np.ndarray, others: np.ndarray) -> dict[str, float]:
    """PSNR (dB) and the largest difference between two versions' frames [F, H, W, 3] in [0, 1]."""
    # Stacked into one tall image, the frames' PSNR is that of all their pixels together.
    return {
        "psnr": psnr(np.concatenate(frames), np.concatenate(others)),
        "max_difference": float(np.abs(frames - others).max()),
    }


def main(profile: RenderProfile) -> None:
    """Time and profile; print the summary."""
    if not torch.cuda.is_available():
        raise SystemExit("profile_rendering.py measures GPU rendering and needs a CUDA GPU.")
    _, pipeline, _, _ = eval_setup(profile.load_config, test_mode="inference")
    model = pipeline.model
    model.eval()
    camera = pipeline.datamanager.train_dataset.cameras[0:1]
    results: dict[str, Any] = {"gaussians": int(model.num_points), "moving": int((model.path_rows >= 0).sum())}
    for width, height in profile.sizes:
        results[f"fps_{width}x{height}"] = frames_per_second(model, camera, width, height)
        print(f"{width}x{height}: {results[f'fps_{width}x{height}']:.0f} frames per second")
    width, height = profile.sizes[0]
    target = resized(camera, width, height).to(model.device)
    activities = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.no_grad(), parts_marked(model), torch.profiler.profile(activities=activities) as profiler:
        for index in range(profile.profiled_frames):
            model.get_outputs_for_camera(with_time(target, (index * 0.137) % 1.0))
        torch.cuda.synchronize()
    rendered = np.stack(
        [model.get_outputs_for_camera(with_time(target, time))["rgb"].cpu().numpy() for time in FRAME_TIMES]
    )
    if profile.frames is not None:
        np.save(profile.frames, rendered)
    if profile.compare_with is not None:
        results["against_other_version"] = frame_differences(rendered, np.load(profile.compare_with))
    averages = profiler.key_averages()
    results["per_frame"] = per_frame_summary(averages, profile.profiled_frames)
    print(json.dumps(results, indent=1))
    print(averages.table(sort_by="self_cuda_time_total", row_limit=20))
    print(averages.table(sort_by="cpu_time_total", row_limit=20))
    if profile.output is not None:
        profile.output.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(tyro.cli(RenderProfile))
