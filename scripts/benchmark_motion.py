"""The motion stages alone, at full size, against the truth: 3D velocity and multi-view consistency, no training.

    python scripts/benchmark_motion.py --seeds 0 1 2 --variants mom4d true-depth constant-depth legacy per-view

Synthesises each procedural landscape with each variant's synthesis options (the variants of
`evaluation/variants.py`) and measures what needs no trained model: the depth's AbsRel, the 3D velocity's median
relative error and cosine against the truth (water as vectors, sky per unit distance), and the paper's multi-view
consistency error of the flows that animate the views. Runs on a CPU (about a minute per synthesis at 1024 px).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import tyro

from evaluation import evaluate
from evaluation.benchmark import synthetic_scene
from evaluation.provenance import commit, hardware
from evaluation.variants import VARIANTS, trainer_config
from mom_nerfstudio.log import setup_logging
from mom_nerfstudio.synthesis.runner import SceneSynthesis


@dataclass
class MotionBenchmark:
    """Measure the motion stages of variants against the truth, without training."""

    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    """Seeds of the procedural landscapes."""
    variants: list[str] = field(default_factory=lambda: ["mom4d", "true-depth", "constant-depth", "legacy", "per-view"])
    """Variants whose synthesis options are measured (their training options are not used)."""
    output: Path = Path("outputs/benchmark_motion")
    """Scenes, caches and results.json."""
    device: str = "cpu"


def main(benchmark: MotionBenchmark) -> None:
    """Synthesise every scene with every variant's options and write the measurements."""
    setup_logging()
    rows = []
    for seed in benchmark.seeds:
        scene = synthetic_scene(seed, benchmark.output / "scenes", "full", benchmark.device)
        for name in benchmark.variants:
            variant = VARIANTS[name]
            options = replace(
                trainer_config(variant, "full").pipeline.datamanager.dataparser,
                data=scene.photo,
                cache_dir=benchmark.output / "cache",
                device=benchmark.device,
                **scene.synthesis_options(variant),
            )
            started = time.perf_counter()
            synthesis = SceneSynthesis(scene.photo, options)
            synthesis.dataset()
            values = {"synthesis_seconds": time.perf_counter() - started}
            values.update(evaluate.synthesis_errors(synthesis, scene.truth))
            values.update(evaluate.synthesis_consistency(synthesis))
            rows.append({"scene": scene.name, "variant": name, "values": values})
            print(json.dumps(rows[-1]))
            document = {"hardware": hardware(), "commit": commit(), "date": time.strftime("%Y-%m-%d"), "rows": rows}
            (benchmark.output / "results.json").write_text(json.dumps(document, indent=1))


if __name__ == "__main__":
    main(tyro.cli(MotionBenchmark))
