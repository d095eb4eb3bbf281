"""Benchmark hole filling of the synthesised views against the truth, and what the test paths show beyond the photo.

    python scripts/benchmark_inpainting.py --seeds 0 1 2 --output docs/benchmark/inpainting.json

On procedural landscapes (`evaluation.benchmark.synthetic_scene`), the photo is synthesised with its
true depth; each of the 25 views is rendered as the synthesis renders it, its holes are filled by every method,
and the filled pixels are compared with the true render of the view: all of them, and those of the band near the
seen pixels that a test path can show (`--band`, a fraction of the long side). Each method is timed on views
resized to `--timing-width`. Then each default test path is rendered from the truth (depth only) at
`--coverage-width` to measure how far its frames reach beyond the photo's frame. CPU only; the true renders of
the views are kept in `--work-dir`, so a second run (other methods) does not ray-march them again.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import torch
import tyro

from evaluation.benchmark import Scene, synthetic_scene
from evaluation.fill_metrics import fill_quality
from evaluation.hole_filling import (
    Filler,
    HoleView,
    available_fillers,
    hole_views,
    near_band,
    path_coverage,
    true_depth_synthesis,
)
from evaluation.provenance import commit, hardware
from mom_nerfstudio.log import logger, setup_logging
from mom_nerfstudio.synthesis.runner import SceneSynthesis

METRICS = ("psnr", "ssim", "detail_ratio", "orientation_error")


@dataclass
class BenchmarkInpainting:
    """Compare hole fillers on the synthesised views of procedural landscapes."""

    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    """Landscapes (`LandscapeParams.random(seed)`)."""
    width: int = 512
    """Width of the landscapes' photos, and so of the views, in pixels."""
    views: Optional[list[int]] = None
    """Indices of the views to fill (0-24; default: all 25)."""
    methods: Optional[list[str]] = None
    """Fillers to compare (default: every one available)."""
    band: float = 0.1
    """Width of the near band, as a fraction of the long side (what a test path shows, see the coverage table)."""
    timing_width: int = 1024
    """Views are resized to this width to time each method."""
    timing_views: int = 4
    """How many views each method is timed on (the first of those filled)."""
    coverage_width: int = 256
    """Width of the true renders along the test paths (coverage is reported in pixels at 1024 wide too)."""
    coverage: bool = True
    """Measure the test paths' coverage (the slowest part after the true views)."""
    work_dir: Path = Path("outputs/benchmark_inpainting")
    """Scenes, the synthesis cache and the true renders of the views."""
    output: Optional[Path] = None
    """Where to write the results as JSON."""
    pictures: Optional[Path] = None
    """Where to write a comparison sheet per scene (views in rows: truth, then each method)."""


def cached_hole_views(scene: Scene, synthesis: SceneSynthesis, indices: list[int], folder: Path) -> list[HoleView]:
    """`hole_views`, kept as .npz files in `folder` (true renders are the slow part)."""
    folder.mkdir(parents=True, exist_ok=True)
    views = []
    for index in indices:
        path = folder / f"view{index:02d}.npz"
        if not path.exists():
            view = next(hole_views(synthesis, scene, [index]))
            np.savez_compressed(path, name=view.name, rendered=view.rendered, holes=view.holes, truth=view.truth)
        arrays = np.load(path)
        views.append(HoleView(str(arrays["name"]), arrays["rendered"], arrays["holes"], arrays["truth"]))
    return views


def measure_scene(scene: Scene, options: BenchmarkInpainting, fillers: dict[str, Filler]) -> dict:
    """Fill every view of one scene with every method and compare with the truth; time each method."""
    synthesis = true_depth_synthesis(scene, options.work_dir / "cache")
    indices = options.views if options.views is not None else list(range(len(synthesis.scene.views)))
    started = time.perf_counter()
    views = [
        view
        for view in cached_hole_views(scene, synthesis, indices, options.work_dir / "views" / scene.name)
        if view.holes.any()
    ]
    logger.info("%s: %d views with holes ready in %.0f s", scene.name, len(views), time.perf_counter() - started)
    per_method: dict[str, dict[str, list[float]]] = {name: {} for name in fillers}
    sheet_rows = []
    for view in views:
        band = near_band(view.holes, options.band * max(view.holes.shape))
        row = [view.truth]
        for name, filler in fillers.items():
            try:
                filled = np.where(view.holes[..., None], filler(view.rendered, view.holes), view.rendered)
            except ValueError as error:  # patchmatch-cython refuses holes that cover its coarsest level
                logger.warning("%s / %s / %s failed: %s", scene.name, view.name, name, error)
                per_method[name].setdefault("failures", []).append(1.0)
                row.append(view.rendered)
                continue
            row.append(filled)
            for region_name, region in (("all", view.holes), ("band", band)):
                for metric, value in fill_quality(filled, view.truth, region).items():
                    per_method[name].setdefault(f"{region_name}_{metric}", []).append(value)
            per_method[name].setdefault("hole_fraction", []).append(float(view.holes.mean()))
        sheet_rows.append(row)
    if options.pictures is not None:
        write_sheet(
            options.pictures / f"{scene.name}_fills.jpg", sheet_rows[:: max(1, len(sheet_rows) // 6)], list(fillers)
        )
    results = {
        name: {key: float(np.mean(values)) for key, values in metrics.items()} for name, metrics in per_method.items()
    }
    for name, filler in fillers.items():
        results[name]["failures"] = float(len(per_method[name].get("failures", [])))
        timed = [view for view in views if view.holes.mean() < 0.5][: options.timing_views]
        results[name]["seconds_per_view"] = time_filler(filler, timed, options.timing_width)
        logger.info("%s / %s: %s", scene.name, name, {key: round(value, 3) for key, value in results[name].items()})
    return {
        "scene": scene.name,
        "size": f"{synthesis.scene.intrinsics.width}x{synthesis.scene.intrinsics.height}",
        "views": len(views),
        "methods": results,
    }


def time_filler(filler: Filler, views: list[HoleView], width: int) -> float:
    """Mean seconds `filler` takes on `views` resized to `width` pixels wide."""
    seconds = []
    for view in views:
        height = round(width * view.holes.shape[0] / view.holes.shape[1])
        rendered = cv2.resize(view.rendered, (width, height), interpolation=cv2.INTER_LINEAR)
        holes = cv2.resize(view.holes.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
        started = time.perf_counter()
        filler(rendered, holes)
        seconds.append(time.perf_counter() - started)
    return float(np.mean(seconds))


def write_sheet(path: Path, rows: list[list[np.ndarray]], names: list[str]) -> None:
    """A sheet of views (rows) by the truth and each method (columns)."""
    from mom_nerfstudio.synthesis.previews import contact_sheet, write_image

    labels = ["truth", *names] * len(rows)
    write_image(path, contact_sheet([tile for row in rows for tile in row], len(rows[0]), labels))


def summary(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Each method's metrics averaged over the scenes."""
    methods = rows[0]["methods"].keys()
    return {
        name: {key: float(np.mean([row["methods"][name][key] for row in rows])) for key in rows[0]["methods"][name]}
        for name in methods
    }


def markdown(means: dict[str, dict[str, float]], band: float, timing_width: int) -> str:
    """The method x metric table."""
    header = (
        f"| method | PSNR all / band (dB) | SSIM all / band | detail ratio all / band (1 = truth) | "
        f"orientation error all / band (0 = truth) | s per view at {timing_width} px |"
    )
    lines = [header, "|---|---|---|---|---|---|"]
    for name, values in means.items():
        cells = [f"{values[f'all_{metric}']:.3f} / {values[f'band_{metric}']:.3f}" for metric in METRICS]
        cells[0] = f"{values['all_psnr']:.2f} / {values['band_psnr']:.2f}"
        label = f"{name} (failed on {values['failures']:.0f} views per scene)" if values.get("failures") else name
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {values['seconds_per_view']:.2f} |")
    return "\n".join(lines) + f"\n\nBand: hole pixels within {band:.0%} of the long side of a seen pixel."


def coverage_markdown(rows: list[dict]) -> str:
    """The test paths' reach beyond the photo's frame, in pixels of a 1024-px-wide frame."""
    lines = [
        "| scene | path | band beyond the photo's frame, deepest / mean, top, bottom, left, right (px at 1024) | "
        "crop that removes it (px at 1024) | frame outside the photo | outside all 25 views | hidden in the photo |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for path in row["coverage"]:
            scale = 1024.0 / path["width"]
            sides = ", ".join(
                f"{path['band_max'][side] * scale:.0f} / {path['band_mean'][side] * scale:.0f}"
                for side in ("top", "bottom", "left", "right")
            )
            lines.append(
                f"| {row['scene']} | {path['path']} | {sides} | {path['crop'] * scale:.0f} | {path['outside_input']:.1%} | "
                f"{path['outside_views']:.1%} | {path['hidden_in_input']:.1%} |"
            )
    return "\n".join(lines)


def main(options: BenchmarkInpainting) -> None:
    """Run the benchmark and report."""
    setup_logging()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    fillers = available_fillers()
    if options.methods is not None:
        unknown = sorted(set(options.methods) - set(fillers))
        if unknown:
            raise SystemExit(f"--methods: {', '.join(unknown)} not available; choose from {', '.join(fillers)}")
        fillers = {name: fillers[name] for name in options.methods}
    rows = []
    for seed in options.seeds:
        scene = synthetic_scene(seed, options.work_dir / f"scenes{options.width}", "full", width=options.width)
        row = measure_scene(scene, options, fillers)
        if options.coverage:
            started = time.perf_counter()
            synthesis = true_depth_synthesis(scene, options.work_dir / "cache")
            row["coverage"] = [asdict(path) for path in path_coverage(scene, synthesis, options.coverage_width)]
            logger.info("%s: path coverage in %.0f s", scene.name, time.perf_counter() - started)
        rows.append(row)
    report = {
        "hardware": hardware(),
        "commit": commit(),
        "date": time.strftime("%Y-%m-%d"),
        "options": str(options),
        "rows": rows,
    }
    report["means"] = summary(rows)
    print(f"\nHardware: {report['hardware']}; commit {report['commit']}; {report['date']}\n")
    print(markdown(report["means"], options.band, options.timing_width))
    if options.coverage:
        print()
        print(coverage_markdown(rows))
    if options.output is not None:
        options.output.parent.mkdir(parents=True, exist_ok=True)
        options.output.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(tyro.cli(BenchmarkInpainting))
