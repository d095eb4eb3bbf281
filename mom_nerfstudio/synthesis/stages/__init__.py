"""The synthesis stages, in the order they run.

Each stage is a module that declares
- `NAME`: its name in the cache;
- `OPTIONS`: the `SynthesisConfig` options it reads; its cache key holds their values;
- `NEEDS`: the earlier stages whose results it reads; their keys are part of its key, and they run before it;
- `active(synthesis)`: whether it runs with these options (an inactive stage has no key and no result);
- `key_parts(synthesis)`: what else its result depends on (a learned model, an annotation beside the photo);
- `compute(synthesis)`, its arrays; the last stage, the dataset, `write(synthesis, folder)` instead.

`synthesis` is the `SceneSynthesis` that runs them: it holds the photo, the options, the cache and the geometry
the stages share.
"""

from __future__ import annotations

from types import ModuleType

from mom_nerfstudio.synthesis.stages import dataset, depth, growth, motion3d, segmentation, views

STAGES: tuple[ModuleType, ...] = (segmentation, depth, growth, views, motion3d, dataset)
STAGE_BY_NAME: dict[str, ModuleType] = {stage.NAME: stage for stage in STAGES}

STAGE_OPTIONS: dict[str, tuple[str, ...]] = {stage.NAME: stage.OPTIONS for stage in STAGES}
"""The options each stage reads."""

OPTIONS_OUTSIDE_KEYS: dict[str, str] = {
    "cache_dir": "where results are kept, not what they are",
    "force": "whether results are reused, not what they are",
    "device": "where results are computed; they are the same on every device",
}
"""Options that no stage's result depends on."""
