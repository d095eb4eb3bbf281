"""Where rendering a frame of a trained mom4d scene spends its time: frames per second and a breakdown per part.

    python scripts/profile_rendering.py --load-config outputs/<photo>/mom4d/<timestamp>/config.yml

Renders the input view at loop times spread over the loop, at each size, and reports the median frame rate (the
GPU synchronised after every frame). Then renders a window of frames under `torch.profiler`, with the parts of a
frame marked (posing the Gaussians of each loop copy, rasterising each copy, blending the copies), and prints the
time per part and the heaviest operations.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
import tyro
from nerfstudio.utils.eval_utils import eval_setup

import mom_nerfstudio.model as model_module
from evaluation.rendering import frames_per_second, resized, with_time

PARTS = ("pose copy", "rasterise copy", "blend copies")


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


def marked(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, its calls marked in the profiler's trace as `label`."""

    def call(*args: Any, **kwargs: Any) -> Any:
        with torch.profiler.record_function(label):
            return function(*args, **kwargs)

    return call


@contextlib.contextmanager
def parts_marked(model: torch.nn.Module) -> Iterator[None]:
    """Mark the parts of a frame (the model's own methods and the functions it calls) for the profiler."""
    originals = (model.gaussians_at, model_module.rasterization, model_module.blend_copies)
    model.gaussians_at = marked(PARTS[0], model.gaussians_at)  # type: ignore[method-assign]
    model_module.rasterization = marked(PARTS[1], model_module.rasterization)
    model_module.blend_copies = marked(PARTS[2], model_module.blend_copies)
    try:
        yield
    finally:
        model.gaussians_at, model_module.rasterization, model_module.blend_copies = originals  # type: ignore[method-assign]


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
    averages = profiler.key_averages()
    per_frame = {}
    for event in averages:
        if event.key in PARTS:
            per_frame[event.key] = {
                "cpu_ms": event.cpu_time_total / 1000.0 / profile.profiled_frames,
                "cuda_ms": event.device_time_total / 1000.0 / profile.profiled_frames,
            }
    results["per_frame_parts"] = per_frame
    print(json.dumps(results, indent=1))
    print(averages.table(sort_by="self_cuda_time_total", row_limit=20))
    print(averages.table(sort_by="cpu_time_total", row_limit=20))
    if profile.output is not None:
        profile.output.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(tyro.cli(RenderProfile))
