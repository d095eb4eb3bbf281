"""Measure the automatic motion on the real-photo set (`scripts/real_photos`): what it finds, and what visibly moves.

    python scripts/benchmark_real_photos.py --report outputs/real_photos/report.md
    python scripts/benchmark_real_photos.py --visible-sizes 256 1024 --sheet docs/benchmark/real_photos.jpg
    python scripts/benchmark_real_photos.py --code /tmp/base ...   # the detectors of another checkout

For every photo, loaded at 1024 px as the synthesis loads it and given to mom4d without any annotation:

- sky IoU and water IoU of the weight-free detectors against the hand-drawn regions (water IoU only where the
  photo shows water);
- still pixels marked as moving: the share of what must never move (neither sky, nor water, nor fog) inside the
  automatic motion mask;
- with `--visible-sizes`: the share of the image that visibly moves in the synthesised input-view loop at each
  working size (`evaluation.loop_change`), and the share of the still pixels that do.

Medians over the photos close the table. `--code ROOT` measures another checkout's packages with this script, so
that before and after come from the same measurement on the same photos.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import tyro
from benchmark_detectors import use_packages_of


@dataclass
class BenchmarkRealPhotos:
    """Measure the automatic motion against the real photos' hand-drawn sky and water."""

    photos: Optional[list[Path]] = None
    """Photos of the set to measure (default: all of `scripts/real_photos`)."""
    visible_sizes: list[int] = field(default_factory=list)
    """Working sizes (long side) at which the input view's loop is synthesised and its visible motion measured."""
    num_frames: int = 60
    """Frames per loop for the visible-motion measurement."""
    output: Path = Path("outputs/real_photos")
    """Where results.json goes."""
    report: Optional[Path] = None
    """Markdown file to write the table to."""
    sheet: Optional[Path] = None
    """Contact sheet to write: per photo, the photo, the regions found over the true ones, the loop's change."""
    code: Optional[Path] = None
    """Root of another checkout whose `mom_nerfstudio` and `dataparsers` are measured instead of this one's."""


def detection_row(photo, sky: np.ndarray, water: np.ndarray, motion: np.ndarray) -> dict:
    """The scores of one photo's detections against its true regions."""
    from evaluation.detection_metrics import mask_iou

    still = photo.still
    return {
        "photo": photo.name,
        "tags": " ".join(photo.tags),
        "sky_iou": mask_iou(sky, photo.sky) if photo.sky.any() or sky.any() else None,
        "water_iou": mask_iou(water, photo.water) if photo.water.any() else None,
        "water_found": float(water.mean()),
        "moving_share": float(motion.mean()),
        "still_marked_moving": float(np.count_nonzero(motion & still) / max(1, np.count_nonzero(still))),
    }


def automatic_regions(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sky and water the weight-free detectors find in `rgb`, and the motion mask mom4d animates."""
    from mom_nerfstudio.synthesis.motion.sources import resolve_motion_input
    from mom_nerfstudio.synthesis.segmentation import find_sky_and_water

    found = find_sky_and_water(rgb)
    with tempfile.TemporaryDirectory() as folder:  # a photo with no annotation beside it
        motion = resolve_motion_input(Path(folder) / "photo.png", rgb, 1.0, sky_and_water=lambda: found).mask
    return found.sky, found.water.water, motion


COLUMNS = [
    ("sky IoU", "sky_iou", "{:.2f}"),
    ("water IoU", "water_iou", "{:.2f}"),
    ("water found", "water_found", "{:.1%}"),
    ("marked moving", "moving_share", "{:.1%}"),
    ("still marked moving", "still_marked_moving", "{:.2%}"),
]


def visible_columns(sizes: list[int]) -> list[tuple[str, str, str]]:
    """The visible-motion columns for the working sizes measured."""
    columns = []
    for size in sizes:
        columns += [
            (f"visible {size}px", f"visible_{size}", "{:.1%}"),
            (f"still visible {size}px", f"still_visible_{size}", "{:.2%}"),
        ]
    return columns


def markdown(rows: list[dict], columns: list[tuple[str, str, str]], header: str) -> str:
    """The rows as a Markdown table, with a median row."""
    lines = [header, "", "| photo | tags | " + " | ".join(label for label, _, _ in columns) + " |"]
    lines.append("|---|---|" + "---|" * len(columns))
    median = {"photo": "**median**", "tags": ""}
    for _, key, _ in columns:
        values = [row[key] for row in rows if row.get(key) is not None]
        median[key] = statistics.median(values) if values else None
    for row in [*rows, median]:
        cells = [fmt.format(row[key]) if row.get(key) is not None else "" for _, key, fmt in columns]
        lines.append(f"| {row['photo']} | {row['tags']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def sheet_row(photo, sky: np.ndarray, water: np.ndarray, change: np.ndarray | None, width: int = 360) -> np.ndarray:
    """One photo's row of the contact sheet (uint8 RGB): the photo, the regions found (sky blue, water cyan) with
    the true ones outlined (sky white, water yellow), and the loop's change (brighter: more)."""
    import cv2

    rgb = (np.clip(photo.rgb, 0, 1) * 255).astype(np.uint8)
    overlay = rgb.astype(np.float32)
    for mask, colour in ((sky, (60, 120, 255)), (water, (0, 230, 230))):
        overlay[mask] = 0.45 * overlay[mask] + 0.55 * np.array(colour, dtype=np.float32)
    overlay = overlay.astype(np.uint8)
    for mask, colour in ((photo.sky, (255, 255, 255)), (photo.water, (255, 230, 0))):
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(overlay, contours, -1, colour, max(1, rgb.shape[1] // 300))
    if change is None:
        change_picture = np.zeros_like(rgb)
    else:
        change = cv2.resize(change, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_AREA)
        change_picture = cv2.applyColorMap(np.clip(change * 4 * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
        change_picture = cv2.cvtColor(change_picture, cv2.COLOR_BGR2RGB)
    height = round(rgb.shape[0] * width / rgb.shape[1])
    tiles = [cv2.resize(tile, (width, height), interpolation=cv2.INTER_AREA) for tile in (rgb, overlay, change_picture)]
    row = np.concatenate([np.pad(tile, ((2, 2), (2, 2), (0, 0))) for tile in tiles], axis=1)
    cv2.putText(row, photo.name, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 2, cv2.LINE_AA)
    return row


def main(benchmark: BenchmarkRealPhotos) -> None:
    """Measure every photo, then write results.json, the report and the contact sheet."""
    if benchmark.code is not None:
        use_packages_of(benchmark.code)
    import cv2
    import torch

    from evaluation.loop_change import input_view_loop_change, visible_share
    from evaluation.provenance import measured_code
    from evaluation.real_photo_set import load_annotated_photo, photos_in
    from mom_nerfstudio.log import setup_logging

    setup_logging()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    paths = benchmark.photos or photos_in()
    rows, sheet = [], []
    for path in paths:
        photo = load_annotated_photo(path)
        started = time.perf_counter()
        sky, water, motion = automatic_regions(photo.rgb)
        row = {**detection_row(photo, sky, water, motion), "detection_seconds": time.perf_counter() - started}
        change = None
        for size in benchmark.visible_sizes:
            loop = input_view_loop_change(path, size, benchmark.num_frames)
            shape = loop.visible.shape[::-1]
            still = cv2.resize(photo.still.astype(np.uint8), shape, interpolation=cv2.INTER_NEAREST).astype(bool)
            row[f"visible_{size}"] = visible_share(loop.visible)
            row[f"still_visible_{size}"] = visible_share(loop.visible, still)
            change = loop.change
        rows.append(row)
        print(json.dumps(row), flush=True)
        if benchmark.sheet is not None:
            sheet.append(sheet_row(photo, sky, water, change))
    run = {**measured_code(benchmark.code), "num_frames": benchmark.num_frames}
    header = (
        f"Hardware: {run['hardware']}; detectors of commit {run['code_commit']}, measured by the benchmark of commit "
        f"{run['benchmark_commit']}; {run['date']}; {len(rows)} photos at 1024 px; loops of {benchmark.num_frames} frames."
    )
    report = markdown(rows, COLUMNS + visible_columns(benchmark.visible_sizes), header)
    print(report)
    benchmark.output.mkdir(parents=True, exist_ok=True)
    (benchmark.output / "results.json").write_text(json.dumps({**run, "rows": rows}, indent=1))
    if benchmark.report is not None:
        benchmark.report.parent.mkdir(parents=True, exist_ok=True)
        benchmark.report.write_text(report)
    if sheet:
        width = max(row.shape[1] for row in sheet)
        picture = np.concatenate([np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))) for row in sheet])
        benchmark.sheet.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(benchmark.sheet), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])


if __name__ == "__main__":
    main(tyro.cli(BenchmarkRealPhotos))
