"""mom4d's benchmark: speed, scale and fidelity on synthetic scenes with ground truth and on real photos.

    python scripts/benchmark.py --photos a.jpg b.jpg --synthetic-seeds 0 1 2 --report docs/benchmark_results.md
    python scripts/benchmark.py --size cpu --synthetic-seeds 0 --variants mom4d no-3d-mom   # a CPU-sized run
    python scripts/benchmark.py --merge a/results.json b/results.json --report report.md  # runs split in parts

Every scene is synthesised from scratch (timed per stage), then each method variant is trained on it in this
process and measured: time per stage and end to end, rendering rate, peak GPU memory, number of Gaussians,
PSNR/SSIM of the t = 0 render against the input, phase-matched PSNR/SSIM of renders along the four test paths
against the true frames, depth and 3D velocity errors, image motion in the input view and at the test paths'
cameras against the true image flow (synthetic scenes), the loop's seam, ghosting and leakage, the paper's
multi-view consistency error, and PIQE of the path videos (see scripts/evaluation/evaluate.py). The report
holds the tables with the hardware, commit and date, each with a note on what it measures against what and what
the method was given; the pictures (contact sheets along the paths beside the truth, looping input-view videos)
go to `--pictures`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Optional

import torch
import tyro

from evaluation.benchmark import Measurement, Scene, measure, phase, synthetic_scene
from evaluation.evaluate import PHASE_WINDOW
from evaluation.loop_metrics import LEAKAGE_THRESHOLD, SEAM_TARGET
from evaluation.provenance import commit, hardware
from evaluation.synthetic_annotation import HINT_COUNT
from evaluation.synthetic_scene import DOME_RADIUS
from evaluation.variants import VARIANTS, Size
from mom_nerfstudio.log import setup_logging
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.depth.convention import SKY_DEPTH


@dataclass
class Benchmark:
    """Measure mom4d against ground truth, its ablations and splatfacto."""

    photos: list[Path] = field(default_factory=list)
    """Real photos (no ground truth: PIQE and fidelity to the input only)."""
    synthetic_seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    """Seeds of the procedural landscapes with ground truth."""
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))
    """Methods to train on every scene (see scripts/evaluation/variants.py)."""
    size: Size = "full"
    """'full': 1024-px photos and the default schedules; 'short': the same photos with a short schedule (side-by-side
    runs on a GPU budget); 'cpu': a small version that runs on a CPU."""
    output: Path = Path("outputs/benchmark")
    """Scenes, caches, runs and the raw results (results.json)."""
    pictures: Optional[Path] = Path("outputs/benchmark/pictures")
    """Where the contact sheets and loop videos go (e.g. docs/benchmark)."""
    report: Optional[Path] = None
    """Markdown file to write the tables to."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    path_stride: int = 1
    """Measure every n-th frame of the test paths (ground-truth frames are the slow part)."""
    merge: list[Path] = field(default_factory=list)
    """Run nothing: merge these results.json files (of runs split over several sessions) into the report."""


AS_GIVEN = "The method was given what the fidelity table's note says."

GIVEN_SYNTHETIC = (
    "Synthetic scenes: the method is given what a user gives, the photo and a labelme annotation drawn like a "
    f"user's (a few coarse polygons around the water and the sky, {HINT_COUNT[0]}-{HINT_COUNT[1]} rough hint "
    f"arrows per region), and works with its own default {SynthesisConfig.fov_degrees:g}-degree field of view, "
    f"depth and sky depth (the true sky dome lies at {DOME_RADIUS:g} units, where mom4d assumes {SKY_DEPTH:g}). "
    "`true-fov` is also given the true field of view, `true-depth` the true depth (`--depth file`). Photos: the "
    "photo alone, with its annotation when one lies beside it."
)


@dataclass(frozen=True)
class Table:
    """A table of the report: its columns (label, key, format) and a note on what it measures against what."""

    columns: tuple[tuple[str, str, str], ...]
    note: str = ""


TABLES = {
    "Speed and size": Table(
        (
            ("synthesis (s)", "synthesis_total", "{:.1f}"),
            ("static stage (s)", "static_seconds", "{:.1f}"),
            ("dynamic stage (s)", "dynamic_seconds", "{:.1f}"),
            ("image to scene (s)", "image_to_scene_seconds", "{:.1f}"),
            ("Gaussians", "gaussians", "{:,}"),
            ("peak GPU (GiB)", "peak_gpu_gib", "{:.1f}"),
            ("FPS 1024x576", "fps_1024x576", "{:.0f}"),
            ("FPS 1920x1080", "fps_1920x1080", "{:.0f}"),
            ("FPS 256x144", "fps_256x144", "{:.1f}"),
        ),
        "Synthesis timed from scratch (mom4d rows); image to scene = synthesis + the whole training run. " + AS_GIVEN,
    ),
    "Fidelity": Table(
        (
            ("input PSNR", "input_psnr", "{:.2f}"),
            ("input SSIM", "input_ssim", "{:.3f}"),
            ("novel-view PSNR", "gt_psnr", "{:.2f}"),
            ("novel-view SSIM", "gt_ssim", "{:.3f}"),
            ("static PSNR", "gt_psnr_static", "{:.2f}"),
            ("static SSIM", "gt_ssim_static", "{:.3f}"),
            ("moving PSNR", "gt_psnr_moving", "{:.2f}"),
            ("moving SSIM", "gt_ssim_moving", "{:.3f}"),
            ("PIQE", "piqe", "{:.2f}"),
        ),
        "Input: the t = 0 render against the photo. Novel views: the test paths' frames against the true frames "
        "seen through the photo's true lens; whole frames and moving regions only within "
        f"{PHASE_WINDOW:.0%} of a loop of the loop's start (the truth never loops), static regions (away from the "
        "true motion mask) in every frame. "
        "PIQE: no reference, lower is better. " + GIVEN_SYNTHETIC,
    ),
    "Motion against the truth": Table(
        (
            ("3D velocity rel. error", "velocity_rel_error", "{:.3f}"),
            ("3D velocity cosine", "velocity_cosine", "{:.3f}"),
            ("sky velocity rel. error", "sky_velocity_rel_error", "{:.3f}"),
            ("sky velocity cosine", "sky_velocity_cosine", "{:.3f}"),
            ("input flow rel. error", "input_flow_rel", "{:.3f}"),
            ("input flow EPE (px/frame)", "input_flow_epe", "{:.3f}"),
            ("novel-view flow rel. error", "novel_flow_rel", "{:.3f}"),
            ("novel-view flow EPE (px/frame)", "novel_flow_epe", "{:.3f}"),
            ("depth AbsRel", "depth_abs_rel", "{:.3f}"),
        ),
        "Medians over the input view's pixels inside the true motion mask: 3D velocity on the water, velocity per "
        "unit distance on the sky (its depth cannot be read from a photo); a relative error of 1 and a cosine of 0 "
        "are what predicting no motion scores. Flow: DIS optical flow between two renders one loop frame apart "
        "from a fixed camera (the input camera at t = 0 and 1/2, every measured test-path camera at its own time), "
        "against the true image flow inside the true motion mask; relative error 1 = no motion. " + GIVEN_SYNTHETIC,
    ),
    "Loop": Table(
        (
            ("seam / mean step", "loop_seam", "{:.2f}"),
            ("ghosting (contrast mid / start)", "ghosting", "{:.3f}"),
            ("leakage (share of still pixels)", "leakage", "{:.4f}"),
        ),
        "The input view's loop. Seam: the step from the last frame to the first over the mean step (a good loop "
        f"about 1, target {SEAM_TARGET[0]:g}-{SEAM_TARGET[1]:g}). Ghosting: texture contrast inside the true motion "
        "mask at mid-loop over t = 0 (1 = none; a half-and-half cross-fade of uncorrelated copies scores 0.71). "
        "Leakage: share of the pixels away from the true motion mask that change by more than "
        f"{LEAKAGE_THRESHOLD * 255:g}/255 over the loop. " + AS_GIVEN,
    ),
    "Multi-view consistency": Table(
        (
            ("consistency error (px/frame)", "view_consistency", "{:.4f}"),
            ("fit residual before (px/frame)", "inconsistency_before", "{:.4f}"),
            ("fit residual after (px/frame)", "inconsistency_after", "{:.4f}"),
        ),
        "Consistency error: the paper's ablation (0.152 without 3D-MOM, 0.003 with it): each animated view's "
        "per-view 2D motion of the synthesis carried into the input view through its depth and compared point by "
        "point with the input view's motion. Fit residual: the 3D motion fit's own mean L1 residual against those "
        "per-view motions, with the motion lifted from the input view alone (before) and after the fit. " + AS_GIVEN,
    ),
}


def markdown(measurements: list[Measurement], header: str) -> str:
    """The measurements as Markdown tables (a column is left out when no row has its value)."""
    sections = [header]
    for title, table in TABLES.items():
        present = [column for column in table.columns if any(m.values.get(column[1]) is not None for m in measurements)]
        if not present:
            continue
        lines = [f"### {title}", ""]
        if table.note:
            lines += [table.note, ""]
        lines.append("| scene | method | " + " | ".join(label for label, _, _ in present) + " |")
        lines.append("|---|---|" + "---|" * len(present))
        for m in measurements:
            cells = [fmt.format(m.values[key]) if m.values.get(key) is not None else "" for _, key, fmt in present]
            lines.append(f"| {m.scene} | {m.variant} | " + " | ".join(cells) + " |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def header(runs: list[dict]) -> str:
    """Where and when the measurements were taken (one line per distinct machine, commit and size)."""
    lines = sorted(
        {f"Hardware: {run['hardware']}; commit {run['commit']}; {run['date']}; size '{run['size']}'." for run in runs}
    )
    return "\n".join(lines)


def load_results(path: Path) -> tuple[dict, list[Measurement]]:
    """A results.json file: its run description and its measurements."""
    document = json.loads(path.read_text())
    measurements = [Measurement(**entry) for entry in document.pop("measurements")]
    return document, measurements


def write_report(runs: list[dict], measurements: list[Measurement], destination: Optional[Path]) -> None:
    """Print the tables and write them to `destination` (when given)."""
    report = markdown(measurements, header(runs))
    print(report)
    if destination is not None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(report)


def main(benchmark: Benchmark) -> None:
    """Run every scene and variant, then write results.json and the report."""
    setup_logging()
    if benchmark.merge:
        loaded = [load_results(path) for path in benchmark.merge]
        write_report([run for run, _ in loaded], [m for _, ms in loaded for m in ms], benchmark.report)
        return
    device = ("cuda" if torch.cuda.is_available() else "cpu") if benchmark.device == "auto" else benchmark.device
    unknown = [name for name in benchmark.variants if name not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    benchmark.output.mkdir(parents=True, exist_ok=True)
    if benchmark.pictures is not None:
        benchmark.pictures.mkdir(parents=True, exist_ok=True)
    run = {"hardware": hardware(), "commit": commit(), "date": time.strftime("%Y-%m-%d"), "size": benchmark.size}
    scenes = []
    for seed in benchmark.synthetic_seeds:
        with phase(f"landscape{seed}: scene and ground truth"):
            scenes.append(synthetic_scene(seed, benchmark.output / "scenes", benchmark.size, device))
    scenes += [Scene(name=photo.stem, photo=photo) for photo in benchmark.photos]
    measurements = []
    for scene in scenes:
        for name in benchmark.variants:
            variant = VARIANTS[name]
            if variant.needs_gpu and device != "cuda":
                print(f"skipping {name} on {scene.name}: it needs a GPU")
                continue
            if variant.given and scene.truth is None:
                print(f"skipping {name} on {scene.name}: it is given a truth that a photo does not have")
                continue
            measurements.append(
                measure(
                    scene, variant, benchmark.size, benchmark.output, device, benchmark.pictures, benchmark.path_stride
                )
            )
            document = {**run, "measurements": [asdict(m) for m in measurements]}
            (benchmark.output / "results.json").write_text(json.dumps(document, indent=1, default=str))
    write_report([run], measurements, benchmark.report)


if __name__ == "__main__":
    main(tyro.cli(Benchmark))
