"""The synthesis: one photo in, a cached multi-view looping video dataset out.

`SceneSynthesis` runs the stages of `mom_nerfstudio.synthesis.stages` in order (sky and water, depth, with
`--inpaint sd` the scene's growth, the views and their 2D motion, 3D-MOM, the dataset), each cached under a key of
the code, the photo, the options it reads and its upstream stages' keys. Keys are computed from options alone, so
a complete dataset is found without loading anything upstream. It also holds what the stages share: the photo,
its motion input, the learned models, the views' cameras and the photo's points. The learned models that the
stages to compute need are looked for first, before any stage runs.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from dataparsers.dataset_format import SynthesizedDataset
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger, setup_logging
from mom_nerfstudio.synthesis.cache import StageCache, file_digest, stage_key
from mom_nerfstudio.synthesis.cameras import (
    Intrinsics,
    ViewPose,
    intrinsics_from_fov,
    paper_view_set,
    transform_points,
    unproject_depth_map,
)
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.depth import learned_depth_model
from mom_nerfstudio.synthesis.diffusion_inpaint import diffusion_inpaint_model
from mom_nerfstudio.synthesis.image_io import LoadedImage, load_image
from mom_nerfstudio.synthesis.learned.loading import ModelSpec, check_model
from mom_nerfstudio.synthesis.learned_segmentation import learned_segmentation_model
from mom_nerfstudio.synthesis.looping import LoopingView, MovingCloud
from mom_nerfstudio.synthesis.motion.fields import dense_hint_field
from mom_nerfstudio.synthesis.motion.lift import lift_motion_map
from mom_nerfstudio.synthesis.motion.network import LearnedViewMotion, MotionModelFile, check_motion_model
from mom_nerfstudio.synthesis.motion.paths import PathTable
from mom_nerfstudio.synthesis.motion.sources import MotionInput, resolve_motion_input
from mom_nerfstudio.synthesis.point_features import MOVING, NUM_FEATURES, OPAQUE, RGB, moving_pixels
from mom_nerfstudio.synthesis.point_renderer import render_points
from mom_nerfstudio.synthesis.scene_growth import InventedPoints, ViewRender
from mom_nerfstudio.synthesis.segmentation import SkyAndWater
from mom_nerfstudio.synthesis.stages import STAGE_BY_NAME, STAGES, dataset, depth, growth, motion3d, segmentation, views


def _source_digest() -> str:
    """A digest of the code that makes the stages' results: a new version of it never reuses an older result."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    sources = [
        *sorted(package.rglob("*.py")),
        package.parent / "loop.py",
        package.parent.parent / "dataparsers" / "dataset_format.py",
    ]
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


SOURCE_DIGEST = _source_digest()


@dataclass(frozen=True)
class SeenView:
    """The photo's points seen from one view at t = 0: what they show, their splatted features, their visibility."""

    render: ViewRender
    features: torch.Tensor  # [H, W, NUM_FEATURES] (`point_features`)
    visible: torch.Tensor  # [P] bool


def resolve_device(name: str) -> torch.device:
    """The torch device for a config's `device` option."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        logger.warning("--device cuda was asked for but no CUDA GPU is available; using the CPU.")
        return torch.device("cpu")
    return torch.device(name)


def default_cache_folder(image_path: Path) -> Path:
    """The default cache: a folder `mom4d_cache` beside the photo."""
    return Path(image_path).resolve().parent / "mom4d_cache"


def _option_value(value: object) -> object:
    """An option as its stage's key holds it: a file by the digest of its content, anything else as it is."""
    if isinstance(value, Path):
        return file_digest(value) if value.is_file() else str(value)
    return value


class SceneSynthesis:
    """Runs (or reuses from the cache) every synthesis stage for one photo."""

    def __init__(self, image_path: Path, config: SynthesisConfig) -> None:
        self.image_path = Path(image_path)
        self.config = config
        config.validate()
        if config.inpaint_model is not None and config.inpaint != "sd":
            logger.warning(f"The inpainting model {config.inpaint_model} is ignored because --inpaint is not 'sd'.")
        self.image: LoadedImage = load_image(self.image_path, config.max_resolution, config.alpha_mode)
        self.cache = StageCache(config.cache_dir or default_cache_folder(self.image_path), force=config.force)
        self.device = resolve_device(config.device)
        self.timings: dict[str, float] = {}
        """Seconds each stage computed by this synthesis took (those loaded from the cache are absent)."""
        self._keys: dict[str, str | None] = {}
        self._results: dict[str, dict[str, np.ndarray]] = {}
        if self.segmentation_model is not None and not self.cache.has_arrays(
            segmentation.NAME, self.key("segmentation")
        ):
            check_model(self.segmentation_model)
        self.motion_input: MotionInput = resolve_motion_input(
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
            sky_and_water=self.sky_and_water,
            learned_segmenter_used=self.segmentation_model is not None,
        )
        for model in self.models_to_load():
            check_model(model)
        if self.motion_model is not None and not self.cache.has_folder(dataset.NAME, self.key("dataset")):
            check_motion_model(str(self.motion_model))

    # ---- the stages: keys, results, the run ----

    def key(self, name: str) -> str | None:
        """The cache key of stage `name` (None when the stage is inactive with these options): the synthesis code,
        the photo, the options the stage reads (files by their content), its upstream stages' keys and its own
        further parts."""
        if name not in self._keys:
            stage = STAGE_BY_NAME[name]
            if not stage.active(self):
                self._keys[name] = None
            else:
                options = {option: _option_value(getattr(self.config, option)) for option in stage.OPTIONS}
                upstream = {needed: self.key(needed) for needed in stage.NEEDS}
                parts = {"code": SOURCE_DIGEST, "image": self.image.content_hash, **options, **upstream}
                self._keys[name] = stage_key(name, {**parts, **stage.key_parts(self)})
        return self._keys[name]

    def result(self, name: str) -> dict[str, np.ndarray]:
        """The arrays of stage `name`, loaded from the cache or computed (after its upstream stages, so that each
        stage's time is its own)."""
        if name not in self._results:
            stage = STAGE_BY_NAME[name]
            key = self.key(name)
            if key is None:
                raise ValueError(f"The {name} stage does not run with these options.")
            self._results[name] = self.cache.arrays(name, key, functools.partial(self._compute, stage))
        return self._results[name]

    def _compute(self, stage: ModuleType) -> dict[str, np.ndarray]:
        for needed in stage.NEEDS:
            if self.key(needed) is not None:
                self.result(needed)
        started = time.perf_counter()
        arrays = stage.compute(self)
        self.timings[stage.NAME] = time.perf_counter() - started
        return arrays

    def dataset(self) -> SynthesizedDataset:
        """The dataset folder, built when it is not cached yet: every stage runs, in order."""

        def build(folder: Path) -> None:
            for stage in STAGES:
                if stage is not dataset and self.key(stage.NAME) is not None:
                    self.result(stage.NAME)
            started = time.perf_counter()
            dataset.write(self, folder)
            self.timings[dataset.NAME] = time.perf_counter() - started

        return SynthesizedDataset.read(self.cache.folder_for(dataset.NAME, self.key(dataset.NAME), build))

    def cached_dataset(self) -> SynthesizedDataset:
        """The dataset when the cache holds it complete; Mom4dInputError saying how to make it otherwise."""
        if not self.cache.has_folder(dataset.NAME, self.key(dataset.NAME)):
            raise Mom4dInputError(
                f"{self.image_path} has not been synthesised with these options yet (nothing in {self.cache.folder}): "
                f"run `mom4d-synthesize {self.image_path}` with the same options, or `ns-train mom4d --data "
                f"{self.image_path}`, which synthesises it first."
            )
        return SynthesizedDataset.read(self.cache.folder_path(dataset.NAME, self.key(dataset.NAME)))

    # ---- the stages' results ----

    def sky_and_water(self) -> SkyAndWater:
        """The photo's sky and water (`--segmentation`)."""
        return segmentation.read(self.result(segmentation.NAME))

    @property
    def depth(self) -> np.ndarray:
        """Depth of the input view, HxW in the project's convention."""
        return self.result(depth.NAME)["depth"]

    @property
    def sky(self) -> np.ndarray:
        """Sky mask of the input view, bool HxW."""
        return self.result(depth.NAME)["sky"]

    @functools.cached_property
    def invented(self) -> InventedPoints:
        """Static points that `--inpaint sd` invented for what the photo never showed (none for other methods).

        They fill only what the photo's points leave open in a view, so they never hide a point of the photo.
        """
        if self.key(growth.NAME) is None:
            return InventedPoints.empty(self.device)
        return InventedPoints.from_arrays(self.result(growth.NAME), self.device)

    @property
    def view_arrays(self) -> dict[str, np.ndarray]:
        """Static renders of all views (t = 0) with hole filling, motion masks, 2D motion and point visibility."""
        return self.result(views.NAME)

    @property
    def motion_arrays(self) -> dict[str, np.ndarray]:
        """3D-MOM: per-point velocity (synthesis frame, units per frame) and the flow inconsistency before/after."""
        return self.result(motion3d.NAME)

    @property
    def velocity(self) -> torch.Tensor:
        """[P, 3] fitted velocity, world units per frame (synthesis frame)."""
        return torch.from_numpy(self.motion_arrays["velocity"]).to(self.device)

    def input_view_flow(self) -> np.ndarray:
        """The input view's 2D motion target (px/frame, HxWx2)."""
        return self.view_arrays["flows"][0].astype(np.float32)

    # ---- learned models ----

    @functools.cached_property
    def segmentation_model(self) -> ModelSpec | None:
        """The learned segmentation model of `--segmentation learned`, or None for the weight-free detectors."""
        learned = self.config.segmentation == "learned"
        return learned_segmentation_model(self.config.segmentation_model) if learned else None

    @functools.cached_property
    def depth_model(self) -> ModelSpec | None:
        """The learned depth model of `--depth`, or None for the weight-free methods."""
        return learned_depth_model(self.config.depth, self.config.depth_model)

    @functools.cached_property
    def inpaint_model(self) -> ModelSpec | None:
        """The Stable Diffusion inpainting model of `--inpaint sd`, or None for the other methods."""
        return diffusion_inpaint_model(self.config.inpaint_model) if self.config.inpaint == "sd" else None

    @property
    def motion_model(self) -> Path | None:
        """3D-Cinemagraphy's motion network checkpoint (`--motion-model`), when the motion comes from hints it can use."""
        uses_hints = self.motion_input.flow is None and not self.motion_input.is_static
        return self.config.motion_model if uses_hints else None

    @functools.cached_property
    def motion_network(self) -> LearnedViewMotion | None:
        """The motion network of `motion_model`, loaded, or None."""
        model = self.motion_model
        return LearnedViewMotion(MotionModelFile(str(model)), self.device) if model is not None else None

    def models_to_load(self) -> list[ModelSpec]:
        """The learned models this run will load: those of the stages it must compute rather than load from the cache.

        Nothing runs when the dataset is complete; otherwise the depth and growth stages need their models unless
        their own results are cached.
        """
        if self.cache.has_folder(dataset.NAME, self.key(dataset.NAME)):
            return []
        needed = []
        if self.depth_model is not None and not self.cache.has_arrays(depth.NAME, self.key(depth.NAME)):
            needed.append(self.depth_model)
        if self.inpaint_model is not None and not self.cache.has_arrays(growth.NAME, self.key(growth.NAME)):
            needed.append(self.inpaint_model)
        return needed

    # ---- geometry the stages share ----

    @property
    def view_motion(self) -> str:
        """'shared' or 'per-view' (see `--view-motion`); 'auto' is per-view when the motion network estimates it."""
        if self.config.view_motion != "auto":
            return self.config.view_motion
        return "per-view" if self.motion_model is not None else "shared"

    @functools.cached_property
    def intrinsics(self) -> Intrinsics:
        """Intrinsics of every view (the working image's size and the configured field of view)."""
        height, width = self.image.rgb.shape[:2]
        return intrinsics_from_fov(width, height, self.config.fov_degrees)

    @functools.cached_property
    def views(self) -> list[ViewPose]:
        """The 25 synthesised views; the pivot is the median depth of the non-sky scene."""
        depth_map, sky = self.depth, self.sky
        scene = depth_map[~sky] if (~sky).any() else depth_map.reshape(-1)
        pivot = float(np.median(scene))
        config = self.config
        return paper_view_set(pivot, config.yaw_degrees, config.pitch_degrees, config.orbit_degrees)

    @functools.cached_property
    def world_to_cameras(self) -> torch.Tensor:
        """[V, 4, 4] world-to-camera transforms of the views, on the synthesis device."""
        return torch.stack([torch.linalg.inv(view.cam_to_world) for view in self.views]).to(self.device)

    @functools.cached_property
    def points(self) -> torch.Tensor:
        """One world point per input pixel, [P, 3] in the synthesis frame (the input camera's OpenCV frame)."""
        return unproject_depth_map(torch.from_numpy(self.depth).to(self.device), self.intrinsics)

    @functools.cached_property
    def point_features(self) -> torch.Tensor:
        """[P, NUM_FEATURES] (`point_features`): RGB, motion-mask value and opacity of the pixel each point came from."""
        opacity_mask = self.image.opacity_mask
        features = torch.ones((self.image.rgb.shape[0] * self.image.rgb.shape[1], NUM_FEATURES))
        features[:, RGB] = torch.from_numpy(self.image.rgb).reshape(-1, 3)
        features[:, MOVING] = torch.from_numpy(moving_pixels(self.motion_input.mask).astype(np.float32)).reshape(-1)
        if opacity_mask is not None:
            features[:, OPAQUE] = torch.from_numpy(opacity_mask.astype(np.float32)).reshape(-1)
        return features.to(self.device)

    @functools.cached_property
    def moving(self) -> torch.Tensor:
        """[P] bool, the points that the motion mask lets move."""
        return self.point_features[:, MOVING] > 0.5

    @functools.cached_property
    def motion_region(self) -> torch.Tensor:
        """[H, W] bool, where the input view moves."""
        return torch.from_numpy(self.motion_input.mask).to(self.device)

    def cloud(self, paths: PathTable | None = None) -> MovingCloud:
        """The point cloud; its moving points follow `paths` (at rest without them)."""
        return MovingCloud(points=self.points, features=self.point_features, moving=self.moving, paths=paths)

    def seen_view(self, still_cloud: MovingCloud, index: int) -> SeenView:
        """The photo's points (`still_cloud`, at rest) seen from view `index` (before any hole is filled)."""
        world_to_camera = self.world_to_cameras[index]
        frame = LoopingView(still_cloud, world_to_camera, self.intrinsics, self.config.num_frames).frame_at(0.0)
        front = render_points(
            transform_points(self.points, world_to_camera), self.point_features[:, :1], self.intrinsics
        )
        return SeenView(
            ViewRender(frame.features[..., RGB], front.depth, frame.coverage), frame.features, front.visible
        )

    def input_view_motion(self) -> np.ndarray:
        """The input view's dense 2D motion (px/frame, HxWx2): the given flow, or the hints spread over the mask
        (by the motion network when there is one)."""
        motion = self.motion_input
        if motion.flow is not None:
            return motion.flow
        field = dense_hint_field(motion.mask, motion.hint_starts, motion.hint_velocities, sigma=self.config.hint_sigma)
        if self.motion_network is not None:
            field = self.motion_network.predict_view_flow(self.image.rgb, motion.mask, field)
        return field

    @functools.cached_property
    def lifted_motion(self) -> torch.Tensor:
        """[P, 3] velocity of every photo point from the input view's motion alone, lifted by `--motion-lift`: the
        motion every view shares (`--view-motion shared`), and 3D-MOM's prior."""
        motion = torch.from_numpy(self.input_view_motion()).float().to(self.device)
        depth_map = torch.from_numpy(self.depth).to(self.device)
        return lift_motion_map(motion, depth_map, self.motion_region, self.intrinsics, self.config.motion_lift)


def synthesize(image_path: Path, config: SynthesisConfig) -> SynthesizedDataset:
    """The dataset of `image_path` with `config`, synthesised when the cache lacks it."""
    setup_logging()
    return SceneSynthesis(image_path, config).dataset()


def cached_dataset(image_path: Path, config: SynthesisConfig) -> SynthesizedDataset:
    """The dataset of `image_path` with `config`, from the cache (see `SceneSynthesis.cached_dataset`)."""
    return SceneSynthesis(image_path, config).cached_dataset()
