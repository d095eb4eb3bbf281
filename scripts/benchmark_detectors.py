"""Benchmark what the synthesis reads off a photo: the sky, the automatic motion mask and the depth prior (CPU only).

    python scripts/benchmark_detectors.py --synthetic-seeds 0 1 2 3 4 5 6 7 8 9 \\
        --photos examples/forest_stream.jpg /work/shared/images/mountain_meadow.jpg --report detectors.md
    python scripts/benchmark_detectors.py --code /tmp/base ...   # the same, for the detectors of another checkout

Scenes: procedural landscapes with ground truth (`scripts/evaluation/synthetic_landscape.py`: terrain, far
mountains, drifting clouds, a stream or a lake), written once at `--width` pixels into `--output`, and real photos,
loaded as the synthesis loads them (long side at most 1024 px), whose labelme annotation beside them (if any) gives
the true motion. For every detector of `evaluation.detectors.DETECTORS` and every depth method:

- motion: IoU of the automatic motion mask (what mom4d animates when the user gives no motion) with the true
  motion (water and sky), and the share of the truly static pixels it animates;
- sky: IoU with the true sky;
- depth: AbsRel against the true depth and the texture copy (depth relief that follows the image's texture, see
  `detection_metrics.texture_copy`). Both maps are in the project's depth convention (the 1st percentile of the
  non-sky depth is 1), the scale the synthesis hands on, so no other alignment is made. The method is run with
  nothing of the truth (not the scene's field of view, nor its sky);
- the seconds each took.

`--code ROOT` measures the `mom_nerfstudio` and `dataparsers` packages of another checkout (for example the commit before a change) with
this checkout's benchmark code, so that before and after come from the same script on the same scenes.
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import tyro


@dataclass
class BenchmarkDetectors:
    """Measure the sky and water detectors and the depth prior against ground truth."""

    synthetic_seeds: list[int] = field(default_factory=lambda: list(range(10)))
    """Seeds of the procedural landscapes (the detectors were tuned on 0-4; 5-9 were held out)."""
    photos: list[Path] = field(default_factory=list)
    """Real photos; a labelme annotation of the same name beside one gives its true motion."""
    width: int = 512
    """Width of the synthetic scenes in pixels (written once per width; 1024 takes minutes per scene on a CPU)."""
    detectors: list[str] = field(default_factory=lambda: ["heuristic"])
    """Detectors to measure (names in scripts/evaluation/detectors.py)."""
    depth_methods: list[str] = field(default_factory=lambda: ["prior"])
    """Depth methods to measure (names of mom_nerfstudio.synthesis.depth.DEPTH_ESTIMATORS; learned ones need their weights)."""
    scenes: Path = Path("outputs/detector_benchmark/scenes")
    """Where the synthetic scenes are written (once per width, then reused)."""
    output: Path = Path("outputs/detector_benchmark")
    """Where results.json goes."""
    report: Optional[Path] = None
    """Markdown file to write the table to."""
    code: Optional[Path] = None
    """Root of another checkout whose `dataparsers` (detectors and depth prior) is measured instead of this one's."""


COLUMNS = [
    ("motion IoU", "motion_iou", "{:.3f}"),
    ("static pixels animated", "static_marked_moving", "{:.3f}"),
    ("image animated", "moving_share", "{:.3f}"),
    ("sky IoU", "sky_iou", "{:.3f}"),
    ("depth AbsRel", "depth_abs_rel", "{:.3f}"),
    ("texture copy", "texture_copy", "{:.4f}"),
    ("sky + motion (s)", "detection_seconds", "{:.2f}"),
    ("depth (s)", "depth_seconds", "{:.2f}"),
]


MEASURED_PACKAGES = ("mom_nerfstudio", "dataparsers")
"""The packages `--code` takes from another checkout: the detectors and the depth prior live in them."""
MEASURED_MODULES = ("mom_nerfstudio.synthesis.segmentation", "mom_nerfstudio.synthesis.depth")


def use_packages_of(root: Path) -> None:
    """Make MEASURED_PACKAGES load from the checkout at `root` (before anything imports them)."""
    loaded = [name for name in MEASURED_PACKAGES if name in sys.modules]
    if loaded:
        raise RuntimeError(f"{', '.join(loaded)} was imported before --code could take effect")
    sys.path.insert(0, str(root))
    try:
        packages = [importlib.import_module(name) for name in MEASURED_PACKAGES]
    except ImportError as error:
        raise SystemExit(f"--code {root}: {error}") from error
    finally:
        sys.path.remove(str(root))
    for package in packages:
        if Path(package.__file__).resolve().parent.parent != root.resolve():
            raise SystemExit(f"--code {root}: no {package.__name__} package there")
    # An editable install finds a submodule the other checkout lacks in this one: check where the measured ones are.
    for name in MEASURED_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            module = None
        if module is None or root.resolve() not in Path(module.__file__).resolve().parents:
            raise SystemExit(
                f"--code {root}: it has no {name} (the detectors and the depth prior are read from "
                f"{', '.join(MEASURED_MODULES)}); measure a checkout of the same layout"
            )


def markdown(rows: list[dict], header: str) -> str:
    """The rows as a Markdown table with a mean row per group of synthetic scenes (a column with no values is left
    out)."""
    present = [column for column in COLUMNS if any(row.get(column[1]) is not None for row in rows)]
    lines = [header, "", "| scene | detector | depth | " + " | ".join(label for label, _, _ in present) + " |"]
    lines.append("|---|---|---|" + "---|" * len(present))
    for row in rows:
        cells = [fmt.format(row[key]) if row.get(key) is not None else "" for _, key, fmt in present]
        lines.append(f"| {row['scene']} | {row['detector']} | {row['depth_method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def mean_rows(rows: list[dict], label: str, scenes: list[str]) -> list[dict]:
    """One row per detector and depth method with the mean of each value over `scenes`."""
    means = []
    for key in sorted({(row["detector"], row["depth_method"]) for row in rows}):
        group = [row for row in rows if (row["detector"], row["depth_method"]) == key and row["scene"] in scenes]
        if not group:
            continue
        mean = {"scene": label, "detector": key[0], "depth_method": key[1]}
        for _, value_key, _ in COLUMNS:
            values = [row[value_key] for row in group if row.get(value_key) is not None]
            mean[value_key] = sum(values) / len(values) if values else None
        means.append(mean)
    return means


def main(benchmark: BenchmarkDetectors) -> None:
    """Measure every detector and depth method on every scene, then write results.json and the report."""
    if benchmark.code is not None:
        use_packages_of(benchmark.code)
    import torch

    from evaluation.detectors import (
        DETECTORS,
        measure_detector,
        photo_truth,
        synthetic_truth,
    )
    from evaluation.provenance import measured_code
    from mom_nerfstudio.log import setup_logging

    setup_logging()
    torch.set_num_threads(1)
    unknown = [name for name in benchmark.detectors if name not in DETECTORS]
    if unknown:
        raise SystemExit(f"unknown detectors {unknown}; choose from {list(DETECTORS)}")
    scenes_folder = benchmark.scenes / f"{benchmark.width}px"
    truths = [synthetic_truth(seed, scenes_folder, benchmark.width) for seed in benchmark.synthetic_seeds]
    truths += [photo_truth(photo) for photo in benchmark.photos]
    rows = []
    for truth in truths:
        for name in benchmark.detectors:
            for depth_method in benchmark.depth_methods:
                values = measure_detector(truth, DETECTORS[name], depth_method)
                values["detection_seconds"] = values.pop("sky_seconds") + values.pop("motion_seconds")
                rows.append({"scene": truth.name, "detector": name, "depth_method": depth_method, **values})
                print(json.dumps(rows[-1]), flush=True)
    synthetic = [truth.name for truth in truths[: len(benchmark.synthetic_seeds)]]
    summary = mean_rows(rows, "mean of the synthetic scenes", synthetic)
    run = {**measured_code(benchmark.code), "width": benchmark.width}
    header = (
        f"Hardware: {run['hardware']}; detectors of commit {run['code_commit']}, measured by the benchmark of "
        f"commit {run['benchmark_commit']}; {run['date']}; synthetic scenes {benchmark.width} px wide."
    )
    report = markdown(rows + summary, header)
    print(report)
    benchmark.output.mkdir(parents=True, exist_ok=True)
    (benchmark.output / "results.json").write_text(json.dumps({**run, "rows": rows, "summary": summary}, indent=1))
    if benchmark.report is not None:
        benchmark.report.parent.mkdir(parents=True, exist_ok=True)
        benchmark.report.write_text(report)


if __name__ == "__main__":
    main(tyro.cli(BenchmarkDetectors))
