"""One benchmark measurement: synthesise a scene, train a method on it, and measure the result."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evaluation import evaluate
from evaluation.runs import TrainedRun, configure, train
from evaluation.variants import (
    CPU_RESOLUTION,
    MOM4D,
    SPLATFACTO,
    Size,
    Variant,
    trainer_config,
)
from mom_nerfstudio.log import logger
from mom_nerfstudio.synthesis.runner import SceneSynthesis

FPS_SIZES_FULL = ((1024, 576), (1920, 1080))
FPS_SIZES_CPU = ((256, 144),)


@dataclass
class Scene:
    """A photo to benchmark on, with its ground truth when it is synthetic."""

    name: str
    photo: Path
    truth: evaluate.GroundTruth | None = None

    def synthesis_options(self, variant: Variant) -> dict[str, Any]:
        """The synthesis options that hand `variant` what it is given of the truth (see `Variant.given`); none for
        the variants that get only what a user gives: the photo and the annotation beside it."""
        if variant.given and self.truth is None:
            raise ValueError(f"{variant.name} is given the truth, which the photo {self.photo} does not have")
        options: dict[str, Any] = {}
        if "fov" in variant.given:
            options["fov_degrees"] = self.truth.fov_degrees
        if "depth" in variant.given:
            options.update(depth="file", depth_file=self.truth.depth_file, depth_file_kind="depth")
        return options


def synthetic_scene(seed: int, folder: Path, size: Size, device: str = "cpu", width: int | None = None) -> Scene:
    """A procedural landscape with ground truth, written (once) into `folder` at the benchmark's size (or `width`
    pixels wide when given).

    The method is given the photo and its labelme annotation, nothing else: mom4d's own default field of view, its
    own depth and sky depth (the truth's sky dome lies farther)."""
    from evaluation.synthetic_ground_truth import LandscapeGroundTruth
    from evaluation.synthetic_landscape import LandscapeParams, is_written, write_scene

    name = f"landscape{seed}"
    scene_folder = folder / name
    params = LandscapeParams.random(seed)
    photo_width = width or (CPU_RESOLUTION if size == "cpu" else 1024)
    if not is_written(scene_folder, params, photo_width):
        write_scene(scene_folder, params, width=photo_width, name=name, device=device)
    truth = LandscapeGroundTruth.load(scene_folder, device=device)
    return Scene(name=name, photo=scene_folder / f"{name}.png", truth=truth)


@dataclass
class Measurement:
    """Everything measured for one method on one scene."""

    scene: str
    variant: str
    values: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def phase(label: str) -> Iterator[None]:
    """Log how long a phase of the benchmark took (a long benchmark shows where its time goes)."""
    started = time.perf_counter()
    logger.info("%s ...", label)
    yield
    logger.info("%s: %.1f s", label, time.perf_counter() - started)


@contextlib.contextmanager
def lpips_unavailable() -> Iterator[None]:
    """Let nerfstudio's splatfacto start without LPIPS weights (it builds LPIPS at start-up and cannot download here)."""
    import torchmetrics.image.lpip as lpip_module

    class NoLpips(torch.nn.Module):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__()

        def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
            return torch.tensor(float("nan"))

    original = lpip_module.LearnedPerceptualImagePatchSimilarity
    lpip_module.LearnedPerceptualImagePatchSimilarity = NoLpips  # type: ignore[misc]
    try:
        yield
    finally:
        lpip_module.LearnedPerceptualImagePatchSimilarity = original  # type: ignore[misc]


def time_synthesis(scene: Scene, variant: Variant, size: Size, cache_dir: Path, device: str) -> dict[str, float]:
    """Synthesise the scene's dataset from scratch (into the shared cache) and report each stage's seconds."""
    dataparser_config = replace(
        trainer_config(variant, size).pipeline.datamanager.dataparser,
        data=scene.photo,
        cache_dir=cache_dir,
        force=True,
        device=device,
        **scene.synthesis_options(variant),
    )
    started = time.perf_counter()
    synthesis = SceneSynthesis(scene.photo, dataparser_config)
    synthesis.dataset()
    timings = {f"synthesis_{stage}": seconds for stage, seconds in synthesis.timings.items()}
    timings["synthesis_total"] = time.perf_counter() - started
    return timings


def measure(
    scene: Scene,
    variant: Variant,
    size: Size,
    output: Path,
    device: str,
    pictures: Path | None = None,
    path_stride: int = 1,
) -> Measurement:
    """Train `variant` on `scene` and measure it (synthesis timed from scratch for the default method)."""
    cache_dir = output / "cache"
    measurement = Measurement(scene=scene.name, variant=variant.name)
    values = measurement.values
    label = f"{scene.name} / {variant.name}"
    if variant == MOM4D:
        with phase(f"{label}: synthesis"):
            values.update(time_synthesis(scene, variant, size, cache_dir, device))
    config = configure(
        trainer_config(variant, size),
        data=scene.photo,
        output_dir=output / "runs",
        name=f"{scene.name}-{variant.name}",
        device=device,
        **{"pipeline.datamanager.dataparser.cache_dir": cache_dir},
        **{f"pipeline.datamanager.dataparser.{key}": value for key, value in scene.synthesis_options(variant).items()},
    )
    guard = lpips_unavailable() if variant == SPLATFACTO else contextlib.nullcontext()
    with guard:
        with phase(f"{label}: training"):
            run = train(variant.name, config)
        values.update(_run_values(run, synthesis_seconds=values.get("synthesis_total", 0.0)))
        values.update(_evaluate(run, scene, variant, size, pictures, path_stride, label))
    del run
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return measurement


def _run_values(run: TrainedRun, synthesis_seconds: float) -> dict[str, Any]:
    """The run's times and size; `synthesis_seconds` is the synthesis timed before the run, which then loaded it
    from the cache (0 when the run's own set-up did the synthesis)."""
    return {
        "setup_seconds": run.clock.setup,
        "static_seconds": run.clock.static,
        "dynamic_seconds": run.clock.dynamic,
        "train_seconds": run.clock.static + run.clock.dynamic,
        "image_to_scene_seconds": synthesis_seconds + run.clock.total,
        "gaussians": run.num_gaussians,
        "peak_gpu_gib": run.peak_gpu_gib,
        "config": str(run.config_path),
    }


def _evaluate(
    run: TrainedRun, scene: Scene, variant: Variant, size: Size, pictures: Path | None, path_stride: int, label: str
) -> dict[str, Any]:
    values: dict[str, Any] = dict(evaluate.input_fidelity(run))
    truth = scene.truth
    with phase(f"{label}: test paths"):
        paths = evaluate.render_test_paths(run, stride=path_stride)
        values.update(evaluate.novel_view_quality(paths))
    truths = None
    if truth is not None:
        with phase(f"{label}: ground truth"):
            truths = evaluate.true_path_views(paths, truth)
            values.update(evaluate.novel_view_fidelity(paths, truths))
    loop = None
    if variant != SPLATFACTO:
        with phase(f"{label}: motion"):
            loop = evaluate.input_loop(run)
            values.update(evaluate.loop_quality(loop, truth))
            values.update(evaluate.view_consistency(run))
            if truth is not None:
                values.update(evaluate.input_view_motion(loop, truth))
                values.update(evaluate.novel_view_motion(run, paths, truths))
                values.update(evaluate.geometry_and_motion_errors(run, truth))
        transforms = run.pipeline.datamanager.dataparser.dataset().summary
        values["inconsistency_before"] = transforms["inconsistency_before"]
        values["inconsistency_after"] = transforms["inconsistency_after"]
    if variant == MOM4D:
        values.update(evaluate.speed(run, FPS_SIZES_CPU if size == "cpu" else FPS_SIZES_FULL))
        if pictures is not None and loop is not None:
            with phase(f"{label}: pictures"):
                sheet = evaluate.write_path_sheet(paths, truths, pictures / f"{scene.name}_paths.jpg")
                values["pictures"] = [str(sheet), str(_write_loop_video(loop, pictures / f"{scene.name}_loop.mp4"))]
    return values


def _write_loop_video(loop: np.ndarray, destination: Path) -> Path:
    from mom_nerfstudio.synthesis.previews import write_video

    return write_video(destination, list(loop), fps=30.0)
