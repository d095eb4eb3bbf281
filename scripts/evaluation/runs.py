"""Training runs inside the benchmark process: nerfstudio's trainer, timed per stage, with its memory and size."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from nerfstudio.engine.callbacks import TrainingCallback, TrainingCallbackLocation
from nerfstudio.engine.trainer import TrainerConfig
from nerfstudio.pipelines.base_pipeline import Pipeline
from nerfstudio.scripts.train import _set_random_seed


@dataclass
class StageClock:
    """Wall-clock times of a run's phases, in seconds."""

    setup: float = 0.0
    """Building the pipeline: the dataparser's synthesis (or its cache) and loading the images."""
    static: float = 0.0
    """The static stage (or the whole run for methods without stages)."""
    dynamic: float = 0.0
    """The dynamic stage."""

    @property
    def total(self) -> float:
        """Image to trained scene."""
        return self.setup + self.static + self.dynamic


@dataclass
class TrainedRun:
    """A finished training run."""

    name: str
    config: TrainerConfig
    pipeline: Pipeline
    clock: StageClock
    peak_gpu_bytes: int | None
    num_gaussians: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_gpu_gib(self) -> float | None:
        """Peak GPU memory of the run in GiB (None off CUDA)."""
        return self.peak_gpu_bytes / 2**30 if self.peak_gpu_bytes is not None else None

    @property
    def config_path(self) -> Path:
        """config.yml of the run (what ns-viewer, ns-render and ns-export load)."""
        return self.config.get_base_dir() / "config.yml"


def configure(
    base: TrainerConfig, data: Path, output_dir: Path, name: str, device: str, **overrides: Any
) -> TrainerConfig:
    """A copy of a method's trainer config for one benchmark run.

    `overrides` are dotted attribute paths relative to the trainer config, e.g.
    `{"pipeline.model.use_motion_prior": False, "max_num_iterations": 100}`.
    """
    config = copy.deepcopy(base)
    config.pipeline.datamanager.dataparser.data = data
    config.output_dir = output_dir
    config.experiment_name = name
    config.machine.device_type = device
    config.vis = "tensorboard"
    config.viewer.quit_on_train_completion = True
    for path, value in overrides.items():
        target = config
        *parents, attribute = path.split(".")
        for parent in parents:
            target = getattr(target, parent)
        if not hasattr(target, attribute):
            raise AttributeError(f"{type(target).__name__} has no option {attribute!r} (from {path!r})")
        setattr(target, attribute, value)
    config.set_timestamp()
    return config


def _stage_boundary(config: TrainerConfig) -> int | None:
    """The step at which the static stage ends, for methods that have one."""
    return getattr(config.pipeline.model, "static_steps", None)


def train(
    name: str,
    config: TrainerConfig,
    on_pipeline: Callable[[Pipeline], None] | None = None,
    callbacks: Sequence[TrainingCallback] = (),
) -> TrainedRun:
    """Train `config` to the end in this process and time its phases.

    `on_pipeline` runs once the pipeline exists, before the first iteration (e.g. to patch a model for the run);
    `callbacks` join the trainer's own (e.g. to time or profile iterations).
    """
    cuda = config.machine.device_type == "cuda" and torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    config.save_config()
    _set_random_seed(config.machine.seed)  # as ns-train does, so that a run is repeatable
    clock = StageClock()
    started = time.perf_counter()
    trainer = config.setup(local_rank=0, world_size=1)
    trainer.setup()
    if on_pipeline is not None:
        on_pipeline(trainer.pipeline)
    clock.setup = time.perf_counter() - started

    boundary = _stage_boundary(config)
    marks: dict[str, float] = {}

    def mark_stage_end(step: int) -> None:
        if boundary is not None and step == boundary - 1:
            if cuda:
                torch.cuda.synchronize()
            marks["static_end"] = time.perf_counter()

    trainer.callbacks.append(TrainingCallback([TrainingCallbackLocation.AFTER_TRAIN_ITERATION], mark_stage_end))
    trainer.callbacks.extend(callbacks)
    training_started = time.perf_counter()
    trainer.train()
    if cuda:
        torch.cuda.synchronize()
    finished = time.perf_counter()
    static_end = marks.get("static_end", finished)
    clock.static = static_end - training_started
    clock.dynamic = finished - static_end
    model = trainer.pipeline.model
    return TrainedRun(
        name=name,
        config=config,
        pipeline=trainer.pipeline,
        clock=clock,
        peak_gpu_bytes=torch.cuda.max_memory_allocated() if cuda else None,
        num_gaussians=int(model.num_points) if hasattr(model, "num_points") else 0,
    )
