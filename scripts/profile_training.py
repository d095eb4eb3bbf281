"""Where a mom4d training iteration spends its time: mean milliseconds per stage and the heaviest operations.

    python scripts/profile_training.py photo.jpg --static-steps 100 --dynamic-steps 300

Trains a shortened run of the full-size `mom4d` method on the photo (the synthesis is cached as usual), times
every iteration with the GPU synchronised, then profiles a window of dynamic-stage iterations with
`torch.profiler` and prints the operations that take the most time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import tyro
from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackLocation

from evaluation.runs import configure, train
from evaluation.variants import mom4d_with_stages
from mom_nerfstudio.log import setup_logging


@dataclass
class Profile:
    """Profile a shortened mom4d training run."""

    photo: tyro.conf.Positional[Path]
    """The image to train on."""
    static_steps: int = 100
    """Iterations of the static stage."""
    dynamic_steps: int = 300
    """Iterations of the dynamic stage."""
    profile_steps: int = 20
    """Dynamic-stage iterations recorded by torch.profiler (at the end of the run)."""
    output: Path = Path("outputs/profile")
    """Where the run and its cache go."""
    trace: Optional[Path] = None
    """Write a Chrome trace of the profiled window here."""


class AroundEachIteration:
    """Training callbacks that run `before` and `after` every iteration."""

    def before(self, step: int) -> None:
        """Called before iteration `step`."""

    def after(self, step: int) -> None:
        """Called after iteration `step`."""

    def callbacks(self) -> list[TrainingCallback]:
        """The callbacks to hand to the trainer."""
        return [
            TrainingCallback([TrainingCallbackLocation.BEFORE_TRAIN_ITERATION], self.before),
            TrainingCallback([TrainingCallbackLocation.AFTER_TRAIN_ITERATION], self.after),
        ]


class IterationTimer(AroundEachIteration):
    """Times each training iteration with the GPU synchronised."""

    def __init__(self) -> None:
        self.started = 0.0
        self.milliseconds: dict[int, float] = {}

    def before(self, step: int) -> None:
        torch.cuda.synchronize()
        self.started = time.perf_counter()

    def after(self, step: int) -> None:
        torch.cuda.synchronize()
        self.milliseconds[step] = (time.perf_counter() - self.started) * 1000.0


class ProfilerWindow(AroundEachIteration):
    """A torch.profiler session over the last `steps` iterations of a run."""

    def __init__(self, first_step: int, steps: int) -> None:
        self.first_step, self.last_step = first_step, first_step + steps - 1
        self.profiler = torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA], record_shapes=False
        )

    def before(self, step: int) -> None:
        if step == self.first_step:
            self.profiler.__enter__()

    def after(self, step: int) -> None:
        if step == self.last_step:
            torch.cuda.synchronize()
            self.profiler.__exit__(None, None, None)


def main(profile: Profile) -> None:
    """Train, time and profile; print the summary."""
    if not torch.cuda.is_available():
        raise SystemExit("profile_training.py measures GPU training and needs a CUDA GPU.")
    setup_logging()
    config = configure(
        mom4d_with_stages("full", profile.static_steps, profile.dynamic_steps),
        data=profile.photo,
        output_dir=profile.output / "runs",
        name=f"{profile.photo.stem}-profile",
        device="cuda",
        **{"pipeline.datamanager.dataparser.cache_dir": profile.output / "cache"},
    )
    total_steps = profile.static_steps + profile.dynamic_steps
    timer = IterationTimer()
    window = ProfilerWindow(total_steps - profile.profile_steps, profile.profile_steps)

    run = train("profile", config, callbacks=timer.callbacks() + window.callbacks())
    steps = np.array(sorted(timer.milliseconds))
    times = np.array([timer.milliseconds[step] for step in steps])
    settled = steps >= 10
    static = settled & (steps < profile.static_steps)
    dynamic = (steps >= profile.static_steps + 10) & (steps < total_steps - profile.profile_steps)
    print(f"setup (synthesis or its cache, image loading): {run.clock.setup:.1f} s")
    print(
        f"static stage: {static.sum()} iterations, mean {times[static].mean():.1f} ms, median {np.median(times[static]):.1f} ms"
    )
    print(
        f"dynamic stage: {dynamic.sum()} iterations, mean {times[dynamic].mean():.1f} ms, median {np.median(times[dynamic]):.1f} ms"
    )
    print(f"Gaussians at the end: {run.num_gaussians:,}; peak GPU memory {run.peak_gpu_bytes / 2**30:.1f} GiB")
    averages = window.profiler.key_averages()
    print(averages.table(sort_by="self_cuda_time_total", row_limit=25))
    print(averages.table(sort_by="cpu_time_total", row_limit=25))
    if profile.trace is not None:
        window.profiler.export_chrome_trace(str(profile.trace))


if __name__ == "__main__":
    main(tyro.cli(Profile))
