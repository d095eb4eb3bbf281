"""Benchmark the single-image synthesis: wall time of every stage, end to end, writing included.

    python scripts/benchmark_synthesis.py photo.jpg [more photos] --output docs/synthesis_benchmark.json

Each photo is synthesised from scratch (`force`) with the default options into a fresh cache folder, and the
per-stage times, the hardware and the commit are printed as a Markdown table and written as JSON.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import tyro

from evaluation.provenance import commit, hardware
from mom_nerfstudio.log import setup_logging
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.runner import SceneSynthesis
from mom_nerfstudio.synthesis.stages import STAGES as SYNTHESIS_STAGES

STAGES = ("load", *(stage.NAME for stage in SYNTHESIS_STAGES))


@dataclass
class BenchmarkSynthesis:
    """Time the synthesis stages on some photos."""

    photos: tyro.conf.Positional[list[Path]]
    output: Optional[Path] = None
    """Where to write the results as JSON."""
    synthesis: SynthesisConfig = field(default_factory=SynthesisConfig)
    """Synthesis options (defaults: those of `ns-train mom4d`)."""


def time_photo(photo: Path, options: SynthesisConfig) -> dict:
    """Synthesise one photo from scratch and return the seconds spent in each stage."""
    with tempfile.TemporaryDirectory() as cache:
        options = SynthesisConfig(**{**vars(options), "cache_dir": Path(cache), "force": True})
        started = time.perf_counter()
        synthesis = SceneSynthesis(photo, options)
        loaded = time.perf_counter()
        dataset = synthesis.dataset()
        total = time.perf_counter() - started
        return {
            "photo": photo.name,
            "size": f"{synthesis.image.rgb.shape[1]}x{synthesis.image.rgb.shape[0]}",
            "images": len(dataset.transforms["frames"]),
            "load": loaded - started,
            **{stage: synthesis.timings.get(stage, 0.0) for stage in STAGES[1:]},
            "total": total,
            "inconsistency_before": dataset.transforms["mom4d"]["inconsistency_before"],
            "inconsistency_after": dataset.transforms["mom4d"]["inconsistency_after"],
        }


def markdown(rows: list[dict]) -> str:
    """The results as a Markdown table."""
    header = (
        "| photo | size | images | "
        + " | ".join(f"{stage} (s)" for stage in STAGES)
        + " | total (s) | 3D-MOM inconsistency before -> after (px/frame) |"
    )
    lines = [header, "|" + "---|" * (len(STAGES) + 5)]
    for row in rows:
        stages = " | ".join(f"{row[stage]:.1f}" for stage in STAGES)
        lines.append(
            f"| {row['photo']} | {row['size']} | {row['images']} | {stages} | {row['total']:.1f} | "
            f"{row['inconsistency_before']:.4f} -> {row['inconsistency_after']:.4f} |"
        )
    return "\n".join(lines)


def main(benchmark: BenchmarkSynthesis) -> None:
    """Run the benchmark and report."""
    setup_logging()
    rows = [time_photo(photo, benchmark.synthesis) for photo in benchmark.photos]
    report = {"hardware": hardware(), "commit": commit(), "date": time.strftime("%Y-%m-%d"), "rows": rows}
    print(f"\nHardware: {report['hardware']}; commit {report['commit']}; {report['date']}\n")
    print(markdown(rows))
    if benchmark.output is not None:
        benchmark.output.parent.mkdir(parents=True, exist_ok=True)
        benchmark.output.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(tyro.cli(BenchmarkSynthesis))
