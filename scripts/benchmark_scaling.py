"""How the cost of a scene grows with the photo's size and the loop's length: time and peak memory.

    python scripts/benchmark_scaling.py --output outputs/scaling

Synthesises one photo from scratch and trains `mom4d` on it at each photo size (long side, at the default loop
length) and each loop length (at the default size), and reports per run: the synthesis's seconds, the seconds per
iteration of both training stages, the whole run, the peak GPU memory, the Gaussians and the frame rate of the
result. The photo is a procedural landscape written at the largest size (the sizes below it are the same picture,
downscaled by `--max-resolution`), or `--photo`. Runs use the benchmark's short schedule by default; the default
schedule's training time is then estimated from the measured seconds per iteration. A run that does not fit in the
GPU's memory is reported as such and the next one runs.
"""

from __future__ import annotations

import gc
import json
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

import torch
import tyro

from evaluation import evaluate
from evaluation.benchmark import synthetic_scene
from evaluation.provenance import commit, hardware
from evaluation.runs import configure, train
from evaluation.variants import SHORT_STAGES, mom4d_with_stages
from mom_nerfstudio.log import logger, setup_logging
from mom_nerfstudio.method_config import mom4d_method
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.runner import SceneSynthesis


@dataclass
class Scaling:
    """Time and memory of image-to-scene against photo size and loop length."""

    sizes: list[int] = field(default_factory=lambda: [512, 1024, 2048])
    """Long sides of the photo, in pixels (each at the default loop length)."""
    frames: list[int] = field(default_factory=lambda: [30, 60, 120])
    """Loop lengths, in frames (each at the default photo size)."""
    photo: Optional[Path] = None
    """A photo at least as large as the largest size; default: procedural landscape 0 written at that size."""
    static_steps: int = SHORT_STAGES[0]
    dynamic_steps: int = SHORT_STAGES[1]
    fps_size: tuple[int, int] = (1024, 576)
    """Frame size of the rendering rate."""
    output: Path = Path("outputs/scaling")
    """Runs, caches and results.json."""


def runs_to_make(scaling: Scaling) -> list[tuple[int, int]]:
    """(long side, frames) of every run: the default first, then the other sizes, then the other loop lengths."""
    default = SynthesisConfig()
    grid = [(size, default.num_frames) for size in scaling.sizes]
    grid += [(default.max_resolution, frames) for frames in scaling.frames]
    ordered = [(default.max_resolution, default.num_frames)] + grid
    return list(dict.fromkeys(ordered))


def measure_run(scaling: Scaling, photo: Path, size: int, frames: int) -> dict[str, Any]:
    """Synthesise `photo` at `size` px with a loop of `frames` frames, train on it, and measure."""
    name = f"{size}px-{frames}f"
    cache_dir = scaling.output / "cache" / name
    config = configure(
        mom4d_with_stages("full", scaling.static_steps, scaling.dynamic_steps),
        data=photo,
        output_dir=scaling.output / "runs",
        name=name,
        device="cuda" if torch.cuda.is_available() else "cpu",
        **{
            "pipeline.datamanager.dataparser.cache_dir": cache_dir,
            "pipeline.datamanager.dataparser.max_resolution": size,
            "pipeline.datamanager.dataparser.num_frames": frames,
        },
    )
    dataparser = config.pipeline.datamanager.dataparser
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    synthesis = SceneSynthesis(photo, replace(dataparser, force=True, device=config.machine.device_type))
    synthesis.dataset()
    values: dict[str, Any] = {"synthesis_seconds": time.perf_counter() - started}
    values["synthesis_peak_gpu_gib"] = _peak_gib()
    del synthesis
    run = train(name, config)
    values.update(
        setup_seconds=run.clock.setup,
        static_ms_per_iteration=1000 * run.clock.static / scaling.static_steps,
        dynamic_ms_per_iteration=1000 * run.clock.dynamic / scaling.dynamic_steps,
        training_peak_gpu_gib=run.peak_gpu_gib,
        gaussians=run.num_gaussians,
    )
    default_model = mom4d_method.config.pipeline.model
    values["default_schedule_estimate_seconds"] = (
        values["synthesis_seconds"]
        + run.clock.setup
        + default_model.static_steps * values["static_ms_per_iteration"] / 1000
        + default_model.dynamic_steps * values["dynamic_ms_per_iteration"] / 1000
    )
    width, height = scaling.fps_size
    values[f"fps_{width}x{height}"] = evaluate.speed(run, (scaling.fps_size,))[f"fps_{width}x{height}"]
    values["config"] = str(run.config_path)
    return values


def _peak_gib() -> Optional[float]:
    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None


def main(scaling: Scaling) -> None:
    """Make every run, writing results.json after each (a run cut short keeps what was measured)."""
    setup_logging()
    scaling.output.mkdir(parents=True, exist_ok=True)
    photo = (
        scaling.photo
        or synthetic_scene(
            0,
            scaling.output / "scenes",
            "full",
            device="cuda" if torch.cuda.is_available() else "cpu",
            width=max(scaling.sizes),
        ).photo
    )
    results: dict[str, Any] = {"hardware": hardware(), "commit": commit(), "photo": str(photo), "runs": []}
    for size, frames in runs_to_make(scaling):
        logger.info("%d px, %d frames ...", size, frames)
        try:
            values = measure_run(scaling, photo, size, frames)
        except torch.cuda.OutOfMemoryError:
            values = {"error": "out of GPU memory", "detail": traceback.format_exc(limit=3)}
        results["runs"].append({"size": size, "frames": frames, "values": values})
        logger.info("%d px, %d frames: %s", size, frames, json.dumps(values, default=str))
        (scaling.output / "results.json").write_text(json.dumps(results, indent=1))
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main(tyro.cli(Scaling))
