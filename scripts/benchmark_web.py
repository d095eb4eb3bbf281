"""Benchmark `mom4d-export web` on a trained run: export time, folder size, page load time and frame rate in headless
Chromium (software WebGL), and how closely the page's input view matches the model's own render.

    python scripts/benchmark_web.py --load-config outputs/<photo>/mom4d/<timestamp>/config.yml \\
        --output-dir web_benchmark --json web_benchmark.json --hardware "2-core CPU, SwiftShader"

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
import torch
import tyro

from evaluation.browser import CHROMIUM, find_chromium
from evaluation.metrics import psnr
from evaluation.provenance import commit
from evaluation.web_page import open_scene_page
from mom_nerfstudio.cli import WebExportCommand, export_web_run
from mom_nerfstudio.errors import INPUT_ERRORS


@dataclass
class WebBenchmark:
    """What to export and how to measure it."""

    load_config: Path
    """config.yml of the trained run."""
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

    camera = input_web_camera(run_dataset(load_run_config(load_config)))
    _, pipeline, _, _ = eval_setup(load_config, test_mode="inference")
    renders = {}
    with torch.no_grad():
        for loop_time in times:
            cameras = camera.cameras(width, time=loop_time).to(pipeline.model.device)
            rgb = pipeline.model.get_outputs_for_camera(cameras)["rgb"]
            renders[loop_time] = (rgb.clamp(0, 1) * 255).round().byte().cpu().numpy()
    return renders


def run(benchmark: WebBenchmark) -> dict:
    """Export, open the page, measure; returns the numbers."""
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
    benchmark.json.parent.mkdir(parents=True, exist_ok=True)
    benchmark.json.write_text(json.dumps(results, indent=1))
    return results


def measure_page(benchmark: WebBenchmark, chromium: Path) -> dict:
    """Open the exported page: its load time, frame time and fidelity to the model's renders (and the comparison
    image, when asked)."""
    times = (0.0, 0.5)
    with open_scene_page(benchmark.output_dir, benchmark.width, chromium) as page:
        load_ms = page.load_milliseconds
        frame_ms = page.milliseconds_per_frame(benchmark.frames)
        pages = {loop_time: page.render(loop_time) for loop_time in times}
        page.render(0.0)  # the screenshot shows t = 0
        screenshot = page.browser.screenshot()
        errors = page.errors()
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
