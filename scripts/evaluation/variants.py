"""The methods a benchmark compares on the same data: mom4d, its ablations, and nerfstudio's splatfacto."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Literal

from nerfstudio.configs.method_configs import method_configs
from nerfstudio.engine.trainer import TrainerConfig

from dataparsers.mom4d_dataparser import Mom4dDataParserConfig
from mom_nerfstudio.method_config import mom4d_method, mom4d_tiny_method

Size = Literal["full", "short", "cpu"]
"""'full': 1024-px photos and the default schedule; 'short': 1024-px photos and SHORT_STAGES (for side-by-side runs
that must fit a GPU budget); 'cpu': small photos, short loops, CPU_STAGES."""


@dataclass(frozen=True)
class Variant:
    """One method trained on a scene."""

    name: str
    description: str
    needs_gpu: bool = False
    given: tuple[str, ...] = ()
    """What the variant is handed of a synthetic scene's truth: "fov" (its field of view), "depth" (its input view's
    depth, through --depth file). A variant given anything needs a synthetic scene."""


MOM4D = Variant("mom4d", "mom4d with its default schedule, given what a user gives: the photo and its annotation")
TRUE_FOV = Variant(
    "true-fov", "mom4d given the scene's true field of view instead of its default 50 degrees", given=("fov",)
)
TRUE_DEPTH = Variant(
    "true-depth",
    "mom4d given the scene's true depth (--depth file): the motion judged apart from the depth",
    given=("depth",),
)
NO_3D_MOM = Variant("no-3d-mom", "velocity lifted from the input view's motion alone (no 3D-MOM fit)")
CONSTANT_DEPTH = Variant(
    "constant-depth",
    "mom4d with the image motion lifted within each point's depth plane, as before (not along the depth surface)",
)
PER_VIEW = Variant(
    "per-view",
    "the paper's ablation: every animated view animated in 2D by its own motion (hints "
    "drawn in each view), no 3D motion and no motion prior",
)
LEGACY = Variant(
    "legacy",
    "the earlier motion: constant-depth lift, hint fields drawn in each view, an unregularised "
    "3D-MOM fit, straight paths, a plain cross-fade of the loop's copies",
)
# Synthesis options of the variants that differ from mom4d in how the motion is made, and only in that.
MOTION_OPTIONS: dict[str, dict[str, object]] = {
    NO_3D_MOM.name: {"motion_solver": "lift"},
    CONSTANT_DEPTH.name: {"motion_lift": "constant-depth"},
    PER_VIEW.name: {"view_motion": "per-view", "motion_solver": "none"},
    LEGACY.name: {
        "motion_lift": "constant-depth",
        "view_motion": "per-view",
        "motion_ray_damping": 0.0,
        "motion_smoothness": 0.0,
        "motion_paths": "straight",
        "loop_blend": "linear",
    },
}
NO_PRIOR = Variant("no-prior", "no motion prior: the residual deformation alone explains the motion")
PAPER_SCHEDULE = Variant("paper-schedule", "the paper's schedule: 3000 static + 20,000 dynamic iterations")
SPLATFACTO = Variant("splatfacto", "nerfstudio's splatfacto on the 25 views at t = 0 (7000 iterations)", needs_gpu=True)
VARIANTS: dict[str, Variant] = {
    variant.name: variant
    for variant in (
        MOM4D,
        TRUE_FOV,
        TRUE_DEPTH,
        NO_3D_MOM,
        CONSTANT_DEPTH,
        PER_VIEW,
        LEGACY,
        NO_PRIOR,
        PAPER_SCHEDULE,
        SPLATFACTO,
    )
}

# A CPU-sized benchmark: small images, short loops, few iterations.
CPU_RESOLUTION = 96
CPU_FRAMES = 12
CPU_STAGES = (100, 150)
SHORT_STAGES = (300, 1200)


def _base_mom4d(size: Size) -> TrainerConfig:
    return copy.deepcopy((mom4d_tiny_method if size == "cpu" else mom4d_method).config)


def _resized(config: TrainerConfig, size: Size) -> TrainerConfig:
    if size == "cpu":
        dataparser = config.pipeline.datamanager.dataparser
        dataparser.max_resolution = CPU_RESOLUTION
        dataparser.num_frames = CPU_FRAMES
    return config


def mom4d_with_stages(size: Size, static_steps: int, dynamic_steps: int) -> TrainerConfig:
    """The mom4d method at `size` with the given stage lengths."""
    config = _base_mom4d(size)
    config.pipeline.model.static_steps = static_steps
    config.pipeline.model.dynamic_steps = dynamic_steps
    config.follow_stages()
    return config


def trainer_config(variant: Variant, size: Size) -> TrainerConfig:
    """The trainer config of `variant` at `size`, before data and output folders are set."""
    if variant == PAPER_SCHEDULE:
        config = (
            mom4d_with_stages(size, 3000, 20000)
            if size != "cpu"
            else mom4d_with_stages(size, 3 * CPU_STAGES[0], 3 * CPU_STAGES[1])
        )
    elif size in ("cpu", "short"):
        config = mom4d_with_stages(size, *(CPU_STAGES if size == "cpu" else SHORT_STAGES))
    else:
        config = _base_mom4d(size)
    for option, value in MOTION_OPTIONS.get(variant.name, {}).items():
        setattr(config.pipeline.datamanager.dataparser, option, value)
    if variant == PER_VIEW:
        config.pipeline.model.use_motion_prior = False
    elif variant == NO_PRIOR:
        config.pipeline.model.use_motion_prior = False
    elif variant == SPLATFACTO:
        config = copy.deepcopy(method_configs["splatfacto"])
        config.pipeline.datamanager.dataparser = replace(Mom4dDataParserConfig(), static_views_only=True)
        config.max_num_iterations = 7000
        config.steps_per_eval_all_images = config.max_num_iterations + 1
    return _resized(config, size)
