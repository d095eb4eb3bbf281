"""The synthesis stages, and the order they run in, which follows from what each declares it reads.

Each stage is a module that declares
- `NAME`: its name in the cache;
- `OPTIONS`: the `SynthesisConfig` options it reads; its cache key holds their values;
- `INPUTS`: the values it receives, by name: earlier stages' results (named after the stage) and the values the
  stages share (SHARED_VALUES). The stages these are made from run before it, and their keys are part of its key;
- `active(config)`: whether it runs with these options (an inactive stage has no key and no result);
- `key_parts(config, image_path)`: what else its result depends on (a learned model, an annotation beside the photo);
- `compute(config, **inputs)`: its arrays; the last stage, the dataset, `write(config, folder, **inputs)` instead.

`mom_nerfstudio.synthesis.runner.SceneSynthesis` runs them: it hands each the values it declares, and keeps their
results in the cache.
"""

from __future__ import annotations

from types import ModuleType

from mom_nerfstudio.synthesis.stages import dataset, depth, growth, motion3d, segmentation, views

SHARED_VALUES: dict[str, tuple[str, ...]] = {
    "photo": (),
    "photo_path": (),
    "device": (),
    "sky_and_water": ("segmentation",),
    "scene": ("segmentation", "depth"),
    "invented": ("growth",),
    "motion_network": ("segmentation",),
    "lifted_motion": ("segmentation", "depth"),
}
"""The values the stages share besides their results, each with the stages whose results it is made from: the photo
at the working resolution (`image_io.LoadedImage`), the synthesis device, the photo's sky and water
(`segmentation.SkyAndWater`), the photo lifted into 3D with its motion and views (`scene.Scene`; the motion reads
the sky and water when it is found automatically), the points `--inpaint sd` invented
(`scene_growth.InventedPoints`), the motion network of `--motion-model` when the motion has hints for it, and the
input view's motion lifted into 3D (`scene.lifted_motion`)."""

_DECLARED: tuple[ModuleType, ...] = (segmentation, depth, growth, views, motion3d, dataset)
STAGE_BY_NAME: dict[str, ModuleType] = {stage.NAME: stage for stage in _DECLARED}


def upstream(stage: ModuleType) -> tuple[str, ...]:
    """The stages whose results `stage` reads, directly or through a shared value, in the order they are declared."""
    needed: set[str] = set()
    for name in stage.INPUTS:
        if name in STAGE_BY_NAME:
            needed.add(name)
        elif name in SHARED_VALUES:
            needed.update(SHARED_VALUES[name])
        else:
            raise ValueError(f"The {stage.NAME} stage reads {name!r}, which is neither a stage nor a shared value.")
    return tuple(other.NAME for other in _DECLARED if other.NAME in needed)


def _in_running_order(stages: tuple[ModuleType, ...]) -> tuple[ModuleType, ...]:
    """`stages` ordered so that each runs after those it reads (ties keep their declared order)."""
    ordered: list[ModuleType] = []
    waiting = list(stages)
    while waiting:
        ready = next((stage for stage in waiting if set(upstream(stage)) <= {done.NAME for done in ordered}), None)
        if ready is None:
            raise ValueError(f"The stages {[stage.NAME for stage in waiting]} read each other's results in a cycle.")
        ordered.append(ready)
        waiting.remove(ready)
    return tuple(ordered)


STAGES: tuple[ModuleType, ...] = _in_running_order(_DECLARED)
"""Every stage, in the order they run; the last writes the dataset."""

STAGE_OPTIONS: dict[str, tuple[str, ...]] = {stage.NAME: stage.OPTIONS for stage in STAGES}
"""The options each stage reads."""

OPTIONS_OUTSIDE_KEYS: dict[str, str] = {
    "cache_dir": "where results are kept, not what they are",
    "force": "whether results are reused, not what they are",
    "device": "where results are computed; they are the same on every device",
}
"""Options that no stage's result depends on."""
