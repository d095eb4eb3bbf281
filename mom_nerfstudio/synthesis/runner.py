"""The synthesis's scheduler: the stages run in the order their declared inputs give, each from the cache or computed.

`SceneSynthesis` schedules the stages of `mom_nerfstudio.synthesis.stages` (sky and water, depth, with
`--inpaint sd` the scene's growth, the views and their 2D motion, 3D-MOM, the dataset) in the order their declared
inputs give, each loaded from the cache under its key (`mom_nerfstudio.synthesis.keys`) or computed and stored
there. It hands every stage the values it declares: earlier stages' results, and the values the stages share
(the photo, the `Scene` of `mom_nerfstudio.synthesis.scene`, the lifted motion, ...), each made once. The photo is
loaded, its motion resolved and the learned models that the stages to compute need are looked for when it is made,
before any stage runs.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from dataparsers.dataset_format import SynthesizedDataset
from mom_nerfstudio.log import logger, setup_logging
from mom_nerfstudio.synthesis.cache import StageCache
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.image_io import LoadedImage, load_image
from mom_nerfstudio.synthesis.keys import StageKeys, cache_folder
from mom_nerfstudio.synthesis.learned.loading import ModelSpec, check_model
from mom_nerfstudio.synthesis.motion.network import LearnedViewMotion, MotionModelFile, check_motion_model
from mom_nerfstudio.synthesis.motion.sources import MotionInput, resolve_motion_input
from mom_nerfstudio.synthesis.scene import Scene, lifted_motion
from mom_nerfstudio.synthesis.scene_growth import InventedPoints
from mom_nerfstudio.synthesis.stages import STAGE_BY_NAME, STAGES, dataset, depth, growth, segmentation


def resolve_device(name: str) -> torch.device:
    """The torch device for a config's `device` option."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        logger.warning("--device cuda was asked for but no CUDA GPU is available; using the CPU.")
        return torch.device("cpu")
    return torch.device(name)


class SceneSynthesis:
    """Runs (or reuses from the cache) every synthesis stage for one photo."""

    def __init__(self, image_path: Path, config: SynthesisConfig) -> None:
        self.image_path = Path(image_path)
        self.config = config
        config.validate()
        if config.inpaint_model is not None and config.inpaint != "sd":
            logger.warning(f"The inpainting model {config.inpaint_model} is ignored because --inpaint is not 'sd'.")
        self.image: LoadedImage = load_image(self.image_path, config.max_resolution, config.alpha_mode)
        self.keys = StageKeys(self.image_path, config)
        self.cache = StageCache(cache_folder(self.image_path, config), force=config.force)
        self.device = resolve_device(config.device)
        self.timings: dict[str, float] = {}
        """Seconds each stage computed by this synthesis took (those loaded from the cache are absent)."""
        self._results: dict[str, dict[str, np.ndarray]] = {}
        self._values: dict[str, object] = {}
        segmentation_model = segmentation.model(config)
        if segmentation_model is not None and not self.cache.has_arrays(segmentation.NAME, self.key(segmentation.NAME)):
            check_model(segmentation_model)
        self.motion: MotionInput = resolve_motion_input(
            self.image_path,
            self.image.rgb,
            self.image.scale,
            mode=config.motion,
            motion_mask=config.motion_mask,
            hints=config.hints,
            flow=config.flow,
            hint_frames=config.hint_frames,
            auto_speeds=config.automatic_speeds,
            num_frames=config.num_frames,
            photo_size=self.image.original_size,
            still=self.image.transparent,
            sky_and_water=lambda: self.value("sky_and_water"),
            learned_segmenter_used=segmentation_model is not None,
        )
        """What moves in the photo, and how."""
        for model in self.models_to_load():
            check_model(model)
        if self.motion_model is not None and not self.cache.has_folder(dataset.NAME, self.key(dataset.NAME)):
            check_motion_model(str(self.motion_model))

    def models_to_load(self) -> list[ModelSpec]:
        """The learned models this run will load: those of the stages it must compute rather than load from the cache.

        Nothing runs when the dataset is complete; otherwise the depth and growth stages need their models unless
        their own results are cached.
        """
        if self.cache.has_folder(dataset.NAME, self.key(dataset.NAME)):
            return []
        needed = []
        for stage in (depth, growth):
            model = stage.model(self.config)
            if model is not None and not self.cache.has_arrays(stage.NAME, self.key(stage.NAME)):
                needed.append(model)
        return needed

    # ---- the stages ----

    def key(self, name: str) -> str | None:
        """The cache key of stage `name` (None when the stage is inactive with these options)."""
        return self.keys.key(name)

    def result(self, name: str) -> dict[str, np.ndarray]:
        """The arrays of stage `name`, loaded from the cache or computed (after the values it reads, so that each
        stage's time is its own)."""
        if name not in self._results:
            stage = STAGE_BY_NAME[name]
            key = self.key(name)
            if key is None:
                raise ValueError(f"The {name} stage does not run with these options.")
            self._results[name] = self.cache.arrays(name, key, functools.partial(self._compute, stage))
        return self._results[name]

    def _compute(self, stage: ModuleType) -> dict[str, np.ndarray]:
        inputs = self._inputs(stage)
        started = time.perf_counter()
        arrays = stage.compute(self.config, **inputs)
        self.timings[stage.NAME] = time.perf_counter() - started
        return arrays

    def _inputs(self, stage: ModuleType) -> dict[str, object]:
        """The values `stage` declares, by name."""
        return {name: self.value(name) for name in stage.INPUTS}

    def value(self, name: str) -> object:
        """A value the stages read: a stage's result (by the stage's name) or a shared value, made once."""
        if name in STAGE_BY_NAME:
            return self.result(name)
        if name not in self._values:
            self._values[name] = _SHARED[name](self)
        return self._values[name]

    def dataset(self) -> SynthesizedDataset:
        """The dataset folder, built when it is not cached yet: every stage runs, in order."""
        last = STAGES[-1]

        def build(folder: Path) -> None:
            for stage in STAGES[:-1]:
                if self.key(stage.NAME) is not None:
                    self.result(stage.NAME)
            inputs = self._inputs(last)
            started = time.perf_counter()
            last.write(self.config, folder, **inputs)
            self.timings[last.NAME] = time.perf_counter() - started

        return SynthesizedDataset.read(self.cache.folder_for(last.NAME, self.key(last.NAME), build))

    # ---- what the stages share ----

    @property
    def scene(self) -> Scene:
        """The photo lifted into 3D with its motion and views (computes the depth when needed)."""
        return self.value("scene")  # type: ignore[return-value]

    @property
    def motion_model(self) -> Path | None:
        """3D-Cinemagraphy's motion network checkpoint (`--motion-model`), when the motion comes from hints it can use."""
        uses_hints = self.motion.flow is None and not self.motion.is_static
        return self.config.motion_model if uses_hints else None


def _invented(synthesis: SceneSynthesis) -> InventedPoints:
    """Static points that `--inpaint sd` invented for what the photo never showed (none for other methods).

    They fill only what the photo's points leave open in a view, so they never hide a point of the photo.
    """
    if synthesis.key(growth.NAME) is None:
        return InventedPoints.empty(synthesis.device)
    return InventedPoints.from_arrays(synthesis.result(growth.NAME), synthesis.device)


def _motion_network(synthesis: SceneSynthesis) -> LearnedViewMotion | None:
    """The motion network of `motion_model`, loaded at its first use, or None."""
    model = synthesis.motion_model
    return LearnedViewMotion(MotionModelFile(str(model)), synthesis.device) if model is not None else None


_SHARED: dict[str, Callable[[SceneSynthesis], object]] = {
    "photo": lambda synthesis: synthesis.image,
    "photo_path": lambda synthesis: synthesis.image_path,
    "device": lambda synthesis: synthesis.device,
    "sky_and_water": lambda synthesis: segmentation.read(synthesis.result(segmentation.NAME)),
    "scene": lambda synthesis: Scene.build(
        synthesis.image_path,
        synthesis.image,
        synthesis.motion,
        synthesis.result(depth.NAME),
        synthesis.config,
        synthesis.device,
    ),
    "invented": _invented,
    "motion_network": _motion_network,
    "lifted_motion": lambda synthesis: lifted_motion(
        synthesis.value("scene"), synthesis.config, synthesis.value("motion_network")
    ),
}
"""How the scheduler makes each of the shared values the stages may declare (`stages.SHARED_VALUES`)."""


def synthesize(image_path: Path, config: SynthesisConfig) -> SynthesizedDataset:
    """The dataset of `image_path` with `config`, synthesised when the cache lacks it."""
    setup_logging()
    return SceneSynthesis(image_path, config).dataset()
