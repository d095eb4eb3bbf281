"""Benchmark `mom4d-export web` on a trained run: export time, folder size, page load time and frame rate in headless
Chromium (software WebGL), and how closely the page's input view matches the model's own render.

    python scripts/benchmark_web.py --load-config outputs/<photo>/mom4d/<timestamp>/config.yml \\
        --output-dir web_benchmark --json web_benchmark.json --hardware "2-core CPU, SwiftShader"

    python scripts/benchmark_web.py --synthetic 720000 70000 60 --json web_synthetic.json   # no run: random Gaussians

Writes the page into --output-dir (replacing it), the numbers as JSON, and with --comparison an image of the page
(a screenshot, its controls included) beside nerfstudio's render of the input view at t = 0, and the difference of
the page's canvas and that render, times 4.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import tyro

from evaluation.browser import CHROMIUM, find_chromium
from evaluation.metrics import psnr
from evaluation.provenance import commit
from evaluation.web_page import open_scene_page
from mom_nerfstudio.atomic import atomic_folder
from mom_nerfstudio.cli import WebExportCommand, export_web_run
from mom_nerfstudio.errors import INPUT_ERRORS
from mom_nerfstudio.web.bake import BakedLoop, pose_frames
from mom_nerfstudio.web.camera import WebCamera, default_limits
from mom_nerfstudio.web.format import encode, write_scene
from mom_nerfstudio.web.page import check_output_folder, copy_viewer


@dataclass
class WebBenchmark:
    """What to export and how to measure it."""

    load_config: Optional[Path] = None
    """config.yml of the trained run."""
    synthetic: Optional[tuple[int, int, int]] = None
    """Instead of a run: a scene of random Gaussians of this size (Gaussians, moving ones, loop frames), to measure
    the size, load time and frame rate of a full-size page without training one (no model renders to compare)."""
    output_dir: Path = Path("web_benchmark")
    """Folder the page is written into (replaced)."""
    json: Path = Path("web_benchmark.json")
    """Where the numbers go."""
    comparison: Optional[Path] = None
    """Image of the page beside nerfstudio's render of the input view at t = 0."""
    width: int = 512
    """Width of the page's canvas, and of the reference renders, in pixels."""
    frames: int = 30
    """Frames drawn to measure the frame rate."""
    hardware: str = "unknown"
    """The machine, in words, recorded with the numbers (e.g. "2-core CPU, SwiftShader")."""
    chromium: Path = CHROMIUM
    """The Chromium executable."""
    frame_step: int = 2
    """Passed to the export."""
    references: Optional[Path] = None
    """Folder of the model's renders of the input view (`model_t<time>.png`): where no Chromium is found (the GPU
    machine a run trained on) they are written there after the export, to measure the page elsewhere with `--page`."""
    page: Optional[Path] = None
    """An exported page to measure instead of exporting a run (its fidelity against `--references`)."""


def folder_bytes(folder: Path) -> dict[str, int]:
    """Size of every file in `folder`, and their total."""
    sizes = {path.name: path.stat().st_size for path in sorted(Path(folder).iterdir()) if path.is_file()}
    return {**sizes, "total": sum(sizes.values())}


def model_render(load_config: Path, width: int, times: tuple[float, ...]) -> dict[float, np.ndarray]:
    """The model's own renders of the input view, `width` pixels wide, as RGB uint8."""
    from nerfstudio.utils.eval_utils import eval_setup

    from mom_nerfstudio.camera_paths import run_dataset
    from mom_nerfstudio.cli import load_run_config
    from mom_nerfstudio.web.camera import input_web_camera
    from mom_nerfstudio.web.previews import render_view

    camera = input_web_camera(run_dataset(load_run_config(load_config)))
    _, pipeline, _, _ = eval_setup(load_config, test_mode="inference")
    return {loop_time: render_view(pipeline.model, camera, width, loop_time) for loop_time in times}


def synthetic_loop(total: int, moving: int, num_frames: int, frame_step: int) -> BakedLoop:
    """Random Gaussians in a landscape-like box ahead of the input camera of `synthetic_camera`; the moving ones drift
    along straight paths."""
    rng = np.random.default_rng(0)
    means = rng.uniform([-3.0, 1.0, -1.0], [3.0, 20.0, 3.0], (total, 3)).astype(np.float32)
    quats = rng.normal(size=(total, 4)).astype(np.float32)
    quats /= np.linalg.norm(quats, axis=1, keepdims=True)
    frames = pose_frames(num_frames, frame_step)
    velocity = rng.normal(0.0, 0.002, (moving, 3)).astype(np.float32)
    return BakedLoop(
        means=means,
        quats=quats,
        log_scales=rng.uniform(-5.0, -2.5, (total, 3)).astype(np.float32),
        colours=rng.uniform(0.0, 1.0, (total, 3)).astype(np.float32),
        opacities=rng.uniform(0.2, 1.0, total).astype(np.float32),
        moving=moving,
        pose_frames=frames,
        pose_means=np.stack([means[:moving] + velocity * frame for frame in frames]),
        pose_quats=None,
        pose_log_scales=None,
        num_frames=num_frames,
        loop_blend="contrast-preserving",
        background=[0.0, 0.0, 0.0],
        source_rows=np.arange(total),
    )


def synthetic_camera() -> WebCamera:
    """A 1024 x 576 camera at the origin looking along +y (z up), as mom4d's input cameras do."""
    pose = np.eye(4)
    pose[:3, :3] = [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]
    return WebCamera(pose, 1100.0, 1100.0, 512.0, 288.0, 1024, 576, 5.0)


def run_synthetic(benchmark: WebBenchmark) -> dict:
    """Write a page of random Gaussians and measure its size, load time and frame rate."""
    chromium = find_chromium(benchmark.chromium)
    total, moving, num_frames = benchmark.synthetic
    start = time.perf_counter()
    loop = synthetic_loop(total, moving, num_frames, benchmark.frame_step)
    camera = synthetic_camera()
    header, sections = encode(
        loop, {"fps": 30.0, "camera": camera.header(), "view_limits": default_limits(camera).header()}
    )
    check_output_folder(benchmark.output_dir, overwrite=True)
    with atomic_folder(benchmark.output_dir) as folder:
        scene_bytes = write_scene(folder, header, sections)
        copy_viewer(folder)
    results = {
        "hardware": benchmark.hardware,
        "commit": commit(),
        "date": time.strftime("%Y-%m-%d"),
        "synthetic": {"gaussians": total, "moving": moving, "num_frames": num_frames, "poses": len(loop.pose_frames)},
        "write_seconds": round(time.perf_counter() - start, 2),
        "scene_bytes": scene_bytes,
        "folder_bytes": folder_bytes(benchmark.output_dir),
    }
    if chromium is not None:
        with open_scene_page(benchmark.output_dir, benchmark.width, chromium, timeout=600.0) as page:
            frame_ms = page.milliseconds_per_frame(benchmark.frames)
            results.update(
                load_milliseconds=round(page.load_milliseconds, 1),
                milliseconds_per_frame=round(frame_ms, 1),
                frames_per_second=round(1000.0 / frame_ms, 2),
                page_errors=page.errors(),
            )
    benchmark.json.parent.mkdir(parents=True, exist_ok=True)
    benchmark.json.write_text(json.dumps(results, indent=1))
    return results


def run(benchmark: WebBenchmark) -> dict:
    """Export, open the page, measure; returns the numbers."""
    if benchmark.synthetic is not None:
        return run_synthetic(benchmark)
    if benchmark.page is not None:
        return run_exported(benchmark)
    if benchmark.load_config is None:
        raise SystemExit("benchmark_web: give --load-config RUN/config.yml (or --synthetic GAUSSIANS MOVING FRAMES).")
    chromium = find_chromium(benchmark.chromium)
    if chromium is None:
        print(
            f"benchmark_web: no Chromium at {benchmark.chromium} (apt-get install -y chromium); measuring the export "
            "only.",
            file=sys.stderr,
        )
    start = time.perf_counter()
    export = export_web_run(
        WebExportCommand(
            load_config=benchmark.load_config,
            output_dir=benchmark.output_dir,
            overwrite=True,
            frame_step=benchmark.frame_step,
        )
    )
    export_seconds = time.perf_counter() - start
    results = {
        "hardware": benchmark.hardware,
        "commit": commit(),
        "date": time.strftime("%Y-%m-%d"),
        "run": str(benchmark.load_config),
        "gaussians": export.gaussians,
        "moving_gaussians": export.moving,
        "poses": export.poses,
        "left_out_for_the_budget": export.given_up,
        "export_seconds": round(export_seconds, 2),
        "export_seconds_after_loading_the_model": round(export.seconds, 2),
        "folder_bytes": folder_bytes(benchmark.output_dir),
        "scene_bytes": export.scene_bytes,
    }
    if chromium is not None:
        results.update(measure_page(benchmark, chromium))
    elif benchmark.references is not None:
        save_references(model_render(benchmark.load_config, benchmark.width, LOOP_TIMES), benchmark.references)
    benchmark.json.parent.mkdir(parents=True, exist_ok=True)
    benchmark.json.write_text(json.dumps(results, indent=1))
    return results


LOOP_TIMES = (0.0, 0.5)
"""The loop times at which the page is compared with the model."""


def reference_path(folder: Path, loop_time: float) -> Path:
    """Where the model's render at `loop_time` is saved."""
    return Path(folder) / f"model_t{loop_time:g}.png"


def save_references(renders: dict[float, np.ndarray], folder: Path) -> None:
    """Save the model's renders (RGB uint8) as PNG files in `folder`."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    for loop_time, rgb in renders.items():
        cv2.imwrite(str(reference_path(folder, loop_time)), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def load_references(folder: Path) -> dict[float, np.ndarray]:
    """The model's renders saved by `save_references`."""
    renders = {}
    for loop_time in LOOP_TIMES:
        image = cv2.imread(str(reference_path(folder, loop_time)))
        if image is None:
            raise SystemExit(f"benchmark_web: no render {reference_path(folder, loop_time)}")
        renders[loop_time] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return renders


def run_exported(benchmark: WebBenchmark) -> dict:
    """Measure a page exported elsewhere against the model's renders saved beside it."""
    chromium = find_chromium(benchmark.chromium)
    if chromium is None or benchmark.references is None:
        raise SystemExit("benchmark_web: --page needs Chromium and --references (the model's saved renders).")
    results = {
        "hardware": benchmark.hardware,
        "commit": commit(),
        "date": time.strftime("%Y-%m-%d"),
        "page": str(benchmark.page),
        "folder_bytes": folder_bytes(benchmark.page),
        **measure_page(benchmark, chromium, benchmark.page, load_references(benchmark.references)),
    }
    benchmark.json.parent.mkdir(parents=True, exist_ok=True)
    benchmark.json.write_text(json.dumps(results, indent=1))
    return results


def measure_page(
    benchmark: WebBenchmark,
    chromium: Path,
    folder: Optional[Path] = None,
    references: Optional[dict[float, np.ndarray]] = None,
) -> dict:
    """Open the exported page (`folder`, default the export's): its load time, frame time and fidelity to the model's
    renders (`references`, default rendered now), and the comparison image when asked."""
    times = LOOP_TIMES
    with open_scene_page(folder or benchmark.output_dir, benchmark.width, chromium, timeout=600.0) as page:
        load_ms = page.load_milliseconds
        frame_ms = page.milliseconds_per_frame(benchmark.frames)
        pages = {loop_time: page.render(loop_time) for loop_time in times}
        page.render(0.0)  # the screenshot shows t = 0
        screenshot = page.browser.screenshot()
        errors = page.errors()
    if references is None:
        references = model_render(benchmark.load_config, benchmark.width, times)
    if benchmark.comparison is not None:
        difference = np.clip(np.abs(pages[0.0].astype(int) - references[0.0].astype(int)) * 4, 0, 255).astype(np.uint8)
        below = screenshot.shape[0] - difference.shape[0]
        padded = [np.pad(image, ((0, below), (0, 0), (0, 0))) for image in (references[0.0], difference)]
        image = np.concatenate([screenshot, *padded], axis=1)
        benchmark.comparison.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(benchmark.comparison), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return {
        "canvas": list(pages[0.0].shape[1::-1]),
        "load_milliseconds": round(load_ms, 1),
        "milliseconds_per_frame": round(frame_ms, 1),
        "frames_per_second": round(1000.0 / frame_ms, 2),
        "psnr_vs_model": {str(t): round(psnr(pages[t] / 255.0, references[t] / 255.0), 2) for t in times},
        "page_errors": errors,
    }


def main() -> None:
    """Run the benchmark from the command line and print its numbers."""
    benchmark = tyro.cli(WebBenchmark, config=(tyro.conf.FlagConversionOff,))
    try:
        results = run(benchmark)
    except INPUT_ERRORS as error:
        print(f"benchmark_web: {error}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
