"""The synthesis pipeline: one photo in, a cached multi-view looping video dataset out.

Stages (each cached under a key of the photo's content and the options that affect it):
1. image loading, 2. depth (with the sky mask), 3. cameras, 4. with `--inpaint sd` only, the scene's growth: points
invented view by view for what the photo never showed (a stage of its own, so that changing the motion does not
repaint the views), 5. multi-view rendering of the lifted point cloud, with the invented points or a hole filler
in what it leaves open, 6-7. motion input and per-view 2D motion, 8. 3D-MOM, 9-10. looping videos written as a
dataset. Stage keys are computed from options alone, so a complete dataset is found without loading anything
upstream. The learned models that the stages to compute need are looked for first, before any stage runs.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from dataparsers.dataset_format import (
    INPAINTED_LEVEL,
    OBSERVED_LEVEL,
    SynthesizedDataset,
    to_dataset_world,
)
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger, setup_logging
from mom_nerfstudio.progress import progress_bar
from mom_nerfstudio.synthesis.cache import StageCache, file_digest, stage_key
from mom_nerfstudio.synthesis.cameras import (
    Intrinsics,
    ViewPose,
    intrinsics_from_fov,
    paper_view_set,
    project_points,
    transform_points,
    unproject_depth_map,
)
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.dataset_writer import DatasetWriter
from mom_nerfstudio.synthesis.depth import estimate_depth, learned_depth_model
from mom_nerfstudio.synthesis.diffusion_inpaint import (
    DiffusionInpainter,
    DiffusionInpaintSettings,
    diffusion_inpaint_model,
)
from mom_nerfstudio.synthesis.image_io import LoadedImage, load_image, to_uint8
from mom_nerfstudio.synthesis.inpaint import fill_holes
from mom_nerfstudio.synthesis.learned.loading import (
    ModelSpec,
    check_model,
    model_fingerprint,
)
from mom_nerfstudio.synthesis.learned_segmentation import (
    LearnedSkyWaterSegmenter,
    learned_segmentation_model,
)
from mom_nerfstudio.synthesis.looping import LoopingView, MovingCloud
from mom_nerfstudio.synthesis.motion.fields import dense_hint_field
from mom_nerfstudio.synthesis.motion.fit import (
    PAPER_SGD_STEPS,
    MotionFitSettings,
    fit_3d_motion,
    image_grid_neighbours,
    sample_flow_at,
)
from mom_nerfstudio.synthesis.motion.lift import (
    SurfaceSlope,
    lift_motion,
    lift_motion_map,
)
from mom_nerfstudio.synthesis.motion.network import (
    LearnedViewMotion,
    MotionModelFile,
    check_motion_model,
    motion_model_fingerprint,
)
from mom_nerfstudio.synthesis.motion.paths import PathTable, VelocityField, trace_paths
from mom_nerfstudio.synthesis.motion.sources import MotionInput, resolve_motion_input
from mom_nerfstudio.synthesis.motion.views import (
    hint_field_in_view,
    projected_point_motion,
)
from mom_nerfstudio.synthesis.point_renderer import render_points
from mom_nerfstudio.synthesis.scene_growth import (
    InventedPoints,
    ViewRender,
    complete_with_invented,
    grow_scene,
)
from mom_nerfstudio.synthesis.segmentation import (
    DoubtfulWater,
    SkyAndWater,
    WaterSearch,
    find_sky_and_water,
)

STAGE_OPTIONS: dict[str, tuple[str, ...]] = {
    "segmentation": ("max_resolution", "alpha_mode", "segmentation", "segmentation_model"),
    "depth": ("max_resolution", "alpha_mode", "depth", "depth_model", "depth_file", "depth_file_kind"),
    "growth": (
        "fov_degrees",
        "yaw_degrees",
        "pitch_degrees",
        "orbit_degrees",
        "inpaint_model",
        "inpaint_prompt",
        "inpaint_negative_prompt",
        "inpaint_seed",
        "inpaint_steps",
    ),
    "views": (
        "fov_degrees",
        "yaw_degrees",
        "pitch_degrees",
        "orbit_degrees",
        "inpaint",
        "motion",
        "motion_mask",
        "hints",
        "flow",
        "hint_frames",
        "hint_sigma",
        "auto_water_speed",
        "auto_sky_speed",
        "view_motion",
        "motion_lift",
        "motion_model",
    ),
    "motion3d": ("motion_solver", "motion_solver_steps", "motion_ray_damping", "motion_smoothness"),
    "dataset": ("num_frames", "animated_views", "motion_paths", "loop_blend"),
}
"""The options each stage reads: its cache key holds their values (and its upstream stages' keys)."""

OPTIONS_OUTSIDE_KEYS: dict[str, str] = {
    "cache_dir": "where results are kept, not what they are",
    "force": "whether results are reused, not what they are",
    "device": "where results are computed; they are the same on every device",
}
"""Options that no stage's result depends on."""


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

# A pixel whose splat weight reaches this fraction of a full pixel counts as seen.
COVERAGE_THRESHOLD = 0.5
# Point features splatted into the views: RGB, motion-mask value, opacity of the input pixel.
_RGB, _MOVING, _OPAQUE = slice(0, 3), 3, 4
_ORBIT_VIEW_COUNT = 5


@dataclass(frozen=True)
class _SeenView:
    """The photo's points seen from one view at t = 0: what they show, their splatted features, their visibility."""

    render: ViewRender
    features: torch.Tensor  # [H, W, 5]: RGB, motion-mask value, opacity
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


def _array_digest(*arrays: np.ndarray | None) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        if array is not None:
            digest.update(np.ascontiguousarray(array).tobytes())
            digest.update(str(array.shape).encode())
    return digest.hexdigest()


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
        if self.segmentation_model is not None and not self.cache.has_arrays("segmentation", self.segmentation_key):
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
            auto_speeds=(config.auto_water_speed, config.auto_sky_speed),
            photo_size=self.image.original_size,
            still=self.image.transparent,
            sky_and_water=self.sky_and_water,
        )
        for model in self.models_to_load():
            check_model(model)
        if self.motion_model is not None and not self.cache.has_folder("dataset", self.dataset_key):
            check_motion_model(str(self.motion_model))

    # ---- learned models ----

    @functools.cached_property
    def segmentation_model(self) -> ModelSpec | None:
        """The learned segmentation model of `--segmentation learned`, or None for the weight-free detectors."""
        return (
            learned_segmentation_model(self.config.segmentation_model)
            if self.config.segmentation == "learned"
            else None
        )

    @property
    def motion_model(self) -> Path | None:
        """3D-Cinemagraphy's motion network checkpoint (`--motion-model`), when the motion comes from hints it can use."""
        uses_hints = self.motion_input.flow is None and not self.motion_input.is_static
        return self.config.motion_model if uses_hints else None

    @functools.cached_property
    def depth_model(self) -> ModelSpec | None:
        """The learned depth model of `--depth`, or None for the weight-free methods."""
        return learned_depth_model(self.config.depth, self.config.depth_model)

    @functools.cached_property
    def inpaint_model(self) -> ModelSpec | None:
        """The Stable Diffusion inpainting model of `--inpaint sd`, or None for the other methods."""
        return diffusion_inpaint_model(self.config.inpaint_model) if self.config.inpaint == "sd" else None

    def models_to_load(self) -> list[ModelSpec]:
        """The learned models this run will load: those of the stages it must compute rather than load from the cache.

        Nothing runs when the dataset is complete; otherwise the depth and growth stages need their models unless
        their own results are cached.
        """
        if self.cache.has_folder("dataset", self.dataset_key):
            return []
        needed = []
        if self.depth_model is not None and not self.cache.has_arrays("depth", self.depth_key):
            needed.append(self.depth_model)
        if self.inpaint_model is not None and not self.cache.has_arrays("growth", self.growth_key):
            needed.append(self.inpaint_model)
        return needed

    # ---- keys: computed from options and file contents only ----

    def _key(self, stage: str, **parts: object) -> str:
        """The key of `stage`: the synthesis code, the photo, the options the stage reads (STAGE_OPTIONS; files by
        their content) and `parts` (upstream keys, what the options resolve to)."""
        options = {name: _option_value(getattr(self.config, name)) for name in STAGE_OPTIONS[stage]}
        return stage_key(stage, {"code": SOURCE_DIGEST, "image": self.image.content_hash, **options, **parts})

    @functools.cached_property
    def segmentation_key(self) -> str:
        """Key of the sky and water stage."""
        model = model_fingerprint(self.segmentation_model) if self.segmentation_model is not None else None
        return self._key("segmentation", model=model)

    @functools.cached_property
    def depth_key(self) -> str:
        """Key of the depth stage."""
        model = model_fingerprint(self.depth_model) if self.depth_model is not None else None
        return self._key("depth", segmentation=self.segmentation_key, model=model)

    @functools.cached_property
    def growth_key(self) -> str:
        """Key of the growth stage of `--inpaint sd` (the points invented for what the photo never showed)."""
        model = model_fingerprint(self.inpaint_model) if self.inpaint_model is not None else None
        return self._key("growth", depth=self.depth_key, model=model)

    @functools.cached_property
    def views_key(self) -> str:
        """Key of the multi-view rendering and per-view motion stage."""
        motion = self.motion_input
        return self._key(
            "views",
            depth=self.depth_key,
            growth=self.growth_key if self.config.inpaint == "sd" else None,
            # The motion as resolved (an annotation beside the photo is no option, but its content counts).
            motion=_array_digest(motion.mask, motion.hint_starts, motion.hint_velocities, motion.flow),
            opacity=_array_digest(self.image.opacity_mask),
            view_motion=self.view_motion,
            motion_model=motion_model_fingerprint(str(self.motion_model)) if self.motion_model is not None else None,
        )

    @functools.cached_property
    def motion_key(self) -> str:
        """Key of the 3D-MOM stage."""
        return self._key("motion3d", views=self.views_key)

    @functools.cached_property
    def dataset_key(self) -> str:
        """Key of the looping-video dataset stage."""
        return self._key("dataset", motion3d=self.motion_key)

    # ---- geometry shared by the stages ----

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
        depth, sky = self.depth, self.sky
        scene = depth[~sky] if (~sky).any() else depth.reshape(-1)
        pivot = float(np.median(scene))
        config = self.config
        return paper_view_set(pivot, config.yaw_degrees, config.pitch_degrees, config.orbit_degrees)

    @functools.cached_property
    def world_to_cameras(self) -> torch.Tensor:
        """[V, 4, 4] world-to-camera transforms of the views, on the synthesis device."""
        return torch.stack([torch.linalg.inv(view.cam_to_world) for view in self.views]).to(self.device)

    # ---- stages ----

    def sky_and_water(self) -> SkyAndWater:
        """The photo's sky and water (`--segmentation`), computed once and cached."""
        arrays = self.cache.arrays("segmentation", self.segmentation_key, self._segment)
        doubtful = tuple(
            DoubtfulWater(fraction=float(fraction), centre=(float(x), float(y)), reason=str(reason))
            for fraction, (x, y), reason in zip(
                arrays["doubtful_fraction"], arrays["doubtful_centre"], arrays["doubtful_reason"]
            )
        )
        return SkyAndWater(sky=arrays["sky"], water=WaterSearch(water=arrays["water"], doubtful=doubtful))

    def _segment(self) -> dict[str, np.ndarray]:
        started = time.perf_counter()
        rgb = self.image.rgb
        if self.segmentation_model is not None:
            sky, water = LearnedSkyWaterSegmenter(self.segmentation_model, self.device).segment(rgb)
            found = SkyAndWater(sky=sky, water=WaterSearch(water=water, doubtful=()))
        else:
            found = find_sky_and_water(rgb)
        self.timings["segmentation"] = time.perf_counter() - started
        doubtful = found.water.doubtful
        return {
            "sky": found.sky,
            "water": found.water.water,
            "doubtful_fraction": np.array([region.fraction for region in doubtful], dtype=np.float32),
            "doubtful_centre": np.array([region.centre for region in doubtful], dtype=np.float32).reshape(-1, 2),
            "doubtful_reason": np.array([region.reason for region in doubtful], dtype=str),
        }

    @functools.cached_property
    def _depth_arrays(self) -> dict[str, np.ndarray]:
        def compute() -> dict[str, np.ndarray]:
            started = time.perf_counter()
            sky = self.sky_and_water().sky
            depth = estimate_depth(
                self.image.rgb,
                sky,
                method=self.config.depth,
                depth_file=self.config.depth_file,
                depth_file_kind=self.config.depth_file_kind,
                model=self.config.depth_model,
                device=self.device,
                photo_size=self.image.original_size,
            )
            self.timings["depth"] = time.perf_counter() - started
            return {"depth": depth.astype(np.float32), "sky": sky}

        return self.cache.arrays("depth", self.depth_key, compute)

    @property
    def depth(self) -> np.ndarray:
        """Depth of the input view, HxW in the project's convention."""
        return self._depth_arrays["depth"]

    @property
    def sky(self) -> np.ndarray:
        """Sky mask of the input view, bool HxW."""
        return self._depth_arrays["sky"]

    @functools.cached_property
    def points(self) -> torch.Tensor:
        """One world point per input pixel, [P, 3] in the synthesis frame (the input camera's OpenCV frame)."""
        depth = torch.from_numpy(self.depth).to(self.device)
        return unproject_depth_map(depth, self.intrinsics)

    @functools.cached_property
    def point_features(self) -> torch.Tensor:
        """[P, 5]: RGB, motion-mask value and opacity of the pixel each point came from."""
        rgb = torch.from_numpy(self.image.rgb).reshape(-1, 3)
        moving = torch.from_numpy(self.motion_input.mask.astype(np.float32)).reshape(-1, 1)
        opacity_mask = self.image.opacity_mask
        opaque = (
            torch.ones_like(moving)
            if opacity_mask is None
            else torch.from_numpy(opacity_mask.astype(np.float32)).reshape(-1, 1)
        )
        return torch.cat([rgb, moving, opaque], dim=1).to(self.device)

    @functools.cached_property
    def moving(self) -> torch.Tensor:
        """[P] bool, the points that the motion mask lets move."""
        return self.point_features[:, _MOVING] > 0.5

    def cloud(self, paths: PathTable | None = None) -> MovingCloud:
        """The point cloud; its moving points follow `paths` (at rest without them)."""
        return MovingCloud(points=self.points, features=self.point_features, moving=self.moving, paths=paths)

    @functools.cached_property
    def invented(self) -> InventedPoints:
        """Static points that `--inpaint sd` invented for what the photo never showed (none for other methods).

        They fill only what the photo's points leave open in a view, so they never hide a point of the photo.
        """
        if self.config.inpaint != "sd":
            return InventedPoints.empty(self.device)
        arrays = self.cache.arrays("growth", self.growth_key, self._grow_scene)
        return InventedPoints.from_arrays(arrays, self.device)

    def _grow_scene(self) -> dict[str, np.ndarray]:
        started = time.perf_counter()
        config = self.config
        settings = DiffusionInpaintSettings(
            config.inpaint_model,
            config.inpaint_prompt,
            config.inpaint_negative_prompt,
            config.inpaint_seed,
            config.inpaint_steps,
        )
        still_cloud = self.cloud()
        with progress_bar("Inpainting the views (Stable Diffusion)", len(self.views)) as advance:
            invented = grow_scene(
                lambda index: self._seen_view(still_cloud, index).render,
                self.world_to_cameras,
                self.intrinsics,
                DiffusionInpainter(settings, self.device),
                COVERAGE_THRESHOLD,
                advance,
            )
        logger.info("Inpainting invented %d points beside the %d of the photo.", len(invented), self.points.shape[0])
        self.timings["growth"] = time.perf_counter() - started
        return invented.to_arrays()

    def _seen_view(self, still_cloud: MovingCloud, index: int) -> _SeenView:
        """The photo's points seen from view `index` at t = 0 (before any hole is filled)."""
        world_to_camera = self.world_to_cameras[index]
        frame = LoopingView(still_cloud, world_to_camera, self.intrinsics, self.config.num_frames).frame_at(0.0)
        front = render_points(
            transform_points(self.points, world_to_camera), self.point_features[:, :1], self.intrinsics
        )
        return _SeenView(
            ViewRender(frame.features[..., _RGB], front.depth, frame.coverage), frame.features, front.visible
        )

    @functools.cached_property
    def view_arrays(self) -> dict[str, np.ndarray]:
        """Static renders of all views (t = 0) with hole filling, motion masks, 2D motion and point visibility."""
        return self.cache.arrays("views", self.views_key, self._render_views)

    def _render_views(self) -> dict[str, np.ndarray]:
        invented = self.invented  # grown (and timed) as a stage of its own before the views are rendered
        started = time.perf_counter()
        intrinsics = self.intrinsics
        motion = self.motion_input
        height, width = intrinsics.height, intrinsics.width
        num_views = len(self.views)
        rgb = np.zeros((num_views, height, width, 3), np.uint8)
        confidence = np.zeros((num_views, height, width), np.uint8)
        motion_masks = np.zeros((num_views, height, width), bool)
        depths = np.zeros((num_views, height, width), np.float16)
        flows = np.zeros((num_views, height, width, 2), np.float16)
        visibility = np.zeros((num_views, self.points.shape[0]), bool)
        still_cloud = self.cloud()
        with progress_bar("Rendering the 25 views", num_views) as advance:
            for index in range(num_views):
                world_to_camera = self.world_to_cameras[index]
                seen = self._seen_view(still_cloud, index)
                visibility[index] = seen.visible.cpu().numpy()
                view = seen.render
                if len(invented):
                    view = complete_with_invented(view, invented, world_to_camera, intrinsics, COVERAGE_THRESHOLD)
                depths[index] = torch.nan_to_num(view.depth, posinf=0.0).cpu().numpy()
                covered = (seen.render.coverage >= COVERAGE_THRESHOLD).cpu().numpy()
                shown = (view.coverage >= COVERAGE_THRESHOLD).cpu().numpy()
                features = seen.features.cpu().numpy()
                filled, inpainted = fill_holes(view.rgb.cpu().numpy(), ~shown, self._hole_filler)
                opaque = features[..., _OPAQUE] >= 0.5
                rgb[index] = to_uint8(filled)
                # Invented pixels (shown, not covered by the photo's points) are guesses, like filled ones.
                guessed = inpainted | (shown & ~covered)
                confidence[index] = np.where(covered & opaque, OBSERVED_LEVEL, np.where(guessed, INPAINTED_LEVEL, 0))
                motion_masks[index] = covered & (features[..., _MOVING] >= 0.5)
                if not motion.is_static:
                    flows[index] = self._view_motion(index, filled, motion_masks[index]).astype(np.float16)
                advance()
        self.timings["views"] = time.perf_counter() - started
        return {
            "rgb": rgb,
            "confidence": confidence,
            "depths": depths,
            "motion_masks": motion_masks,
            "flows": flows,
            "visibility": visibility,
        }

    @property
    def _hole_filler(self) -> str:
        # With --inpaint sd the invented points fill the views; Telea fills the slivers their splats leave open.
        return "telea" if self.config.inpaint == "sd" else self.config.inpaint

    # ---- motion ----

    @functools.cached_property
    def _motion_network(self) -> LearnedViewMotion | None:
        return (
            LearnedViewMotion(MotionModelFile(str(self.motion_model)), self.device)
            if self.motion_model is not None
            else None
        )

    @functools.cached_property
    def _motion_region(self) -> torch.Tensor:
        """[H, W] bool, where the input view moves."""
        return torch.from_numpy(self.motion_input.mask).to(self.device)

    @functools.cached_property
    def _surface(self) -> SurfaceSlope:
        return SurfaceSlope.of(torch.from_numpy(self.depth).to(self.device), self._motion_region)

    def input_view_motion(self) -> np.ndarray:
        """The input view's dense 2D motion (px/frame, HxWx2): the given flow, or the hints spread over the mask
        (by the motion network when there is one)."""
        motion = self.motion_input
        if motion.flow is not None:
            return motion.flow
        field = dense_hint_field(motion.mask, motion.hint_starts, motion.hint_velocities, sigma=self.config.hint_sigma)
        if self._motion_network is not None:
            field = self._motion_network.predict_view_flow(self.image.rgb, motion.mask, field)
        return field

    @functools.cached_property
    def lifted_motion(self) -> torch.Tensor:
        """[P, 3] velocity of every photo point from the input view's motion alone, lifted by `--motion-lift`: the
        motion every view shares (`--view-motion shared`), and 3D-MOM's prior."""
        motion = torch.from_numpy(self.input_view_motion()).float().to(self.device)
        depth = torch.from_numpy(self.depth).to(self.device)
        return lift_motion_map(motion, depth, self._motion_region, self.intrinsics, self.config.motion_lift)

    def _view_motion(self, index: int, view_rgb: np.ndarray, view_mask: np.ndarray) -> np.ndarray:
        """View `index`'s 2D motion target (px/frame, HxWx2), zero outside the view's motion mask."""
        motion = self.motion_input
        world_to_camera = self.world_to_cameras[index]
        if self.view_motion == "shared" or motion.flow is not None:
            point_motion = projected_point_motion(self.points, self.lifted_motion, self.intrinsics, world_to_camera)
            rendered = render_points(transform_points(self.points, world_to_camera), point_motion, self.intrinsics)
            return rendered.features.cpu().numpy() * view_mask[..., None]
        field = hint_field_in_view(
            view_mask,
            torch.from_numpy(motion.hint_starts).float().to(self.device),
            torch.from_numpy(motion.hint_velocities).float().to(self.device),
            torch.from_numpy(self.depth).to(self.device),
            self.intrinsics,
            world_to_camera,
            self.config.hint_sigma,
            self.config.motion_lift,
            self._surface,
        )
        if self._motion_network is not None:
            field = self._motion_network.predict_view_flow(view_rgb, view_mask, field)
        return field

    @functools.cached_property
    def motion_arrays(self) -> dict[str, np.ndarray]:
        """3D-MOM: per-point velocity (synthesis frame, units per frame) and the flow inconsistency before/after."""
        return self.cache.arrays("motion3d", self.motion_key, self._fit_motion)

    def _fit_motion(self) -> dict[str, np.ndarray]:
        started = time.perf_counter()
        views = self.view_arrays
        flows = torch.from_numpy(views["flows"].astype(np.float32)).to(self.device)
        visibility = torch.from_numpy(views["visibility"]).to(self.device)
        config = self.config
        # Without 3D motion ('none') the views are animated by their own 2D motion; the prior's numbers are reported.
        solver = "lift" if config.motion_solver == "none" else config.motion_solver
        settings = MotionFitSettings(
            solver=solver, ray_damping=config.motion_ray_damping, smoothness=config.motion_smoothness
        )
        if settings.solver == "lift":
            settings.steps = 0
        elif config.motion_solver_steps is not None:
            settings.steps = config.motion_solver_steps
        elif settings.solver == "sgd":
            settings.steps = PAPER_SGD_STEPS
        neighbours = image_grid_neighbours(self._motion_region, torch.from_numpy(self.depth).to(self.device))
        with progress_bar(f"3D-MOM ({settings.solver})", settings.steps) as advance:
            fit = fit_3d_motion(
                self.points,
                self.moving,
                self.world_to_cameras,
                self.intrinsics,
                flows,
                visibility,
                self.lifted_motion,
                settings,
                neighbours,
                lambda _: advance(),
            )
        logger.info(
            "3D-MOM: multi-view flow inconsistency %.4f px/frame before (motion lifted from the input view alone), "
            "%.4f after the fit, over %d moving points and %d views.",
            fit.inconsistency_before,
            fit.inconsistency_after,
            int(self.moving.sum()),
            len(self.views),
        )
        self.timings["motion3d"] = time.perf_counter() - started
        velocity = torch.zeros_like(fit.velocity) if config.motion_solver == "none" else fit.velocity
        return {
            "velocity": velocity.cpu().numpy(),
            "inconsistency_before": np.float32(fit.inconsistency_before),
            "inconsistency_after": np.float32(fit.inconsistency_after),
        }

    @property
    def velocity(self) -> torch.Tensor:
        """[P, 3] fitted velocity, world units per frame (synthesis frame)."""
        return torch.from_numpy(self.motion_arrays["velocity"]).to(self.device)

    def input_view_flow(self) -> np.ndarray:
        """The input view's 2D motion target (px/frame, HxWx2)."""
        return self.view_arrays["flows"][0].astype(np.float32)

    def animation_flow(self, index: int) -> np.ndarray:
        """The 2D motion (px/frame, HxWx2) that animates view `index`'s video: the view's own motion without 3D motion
        (`--motion-solver none`), the fitted 3D velocity projected into the view otherwise; zero where the view
        does not move."""
        if self.config.motion_solver == "none":
            return self.view_arrays["flows"][index].astype(np.float32)
        world_to_camera = self.world_to_cameras[index]
        point_motion = projected_point_motion(self.points, self.velocity, self.intrinsics, world_to_camera)
        rendered = render_points(transform_points(self.points, world_to_camera), point_motion, self.intrinsics)
        return rendered.features.cpu().numpy() * self.view_arrays["motion_masks"][index][..., None]

    @functools.cached_property
    def paths(self) -> PathTable:
        """Where the moving points travel over the loop (`--motion-paths`): the table the videos and the model share."""
        velocity = self.velocity
        height, width = self.depth.shape
        field = VelocityField(
            velocity=velocity[: height * width].reshape(height, width, 3),
            region=self._motion_region,
            world_to_input=torch.eye(4, device=self.device),
            intrinsics=self.intrinsics,
        )
        return trace_paths(
            self.points[self.moving], velocity[self.moving], field, self.config.num_frames, self.config.motion_paths
        )

    def _paths_in_view_plane(self, index: int) -> PathTable:
        """Without 3D motion: straight paths that move each point within view `index`'s depth plane by that view's
        own 2D motion (so that the view is animated in 2D, independently of the others)."""
        world_to_camera = self.world_to_cameras[index]
        moving_points = self.points[self.moving]
        camera_points = transform_points(moving_points, world_to_camera)
        pixels, depth = project_points(camera_points, self.intrinsics)
        flow = torch.from_numpy(self.view_arrays["flows"][index].astype(np.float32)).to(self.device)
        camera_velocity = lift_motion(pixels, sample_flow_at(flow, pixels), depth, self.intrinsics, "constant-depth")
        velocity = camera_velocity @ world_to_camera[:3, :3]  # rotated back into the world
        return trace_paths(moving_points, velocity, None, self.config.num_frames, "straight")

    def animated_view_indices(self) -> list[int]:
        """Views that get a looping video."""
        return {"input": [0], "orbit": list(range(_ORBIT_VIEW_COUNT)), "all": list(range(len(self.views)))}[
            self.config.animated_views
        ]

    def looping_view(self, view_index: int) -> LoopingView:
        """The looping-video renderer of one view."""
        config = self.config
        paths = self._paths_in_view_plane(view_index) if config.motion_solver == "none" else self.paths
        return LoopingView(
            self.cloud(paths),
            self.world_to_cameras[view_index],
            self.intrinsics,
            config.num_frames,
            config.loop_blend,
            _RGB,
        )

    def _path_arrays(self, invented_count: int) -> dict[str, np.ndarray]:
        """The path table for points.npz, in the dataset's world: each point's row (-1: static), times, offsets."""
        moving = torch.cat([self.moving, torch.zeros(invented_count, dtype=torch.bool, device=self.device)])
        rows = torch.full(moving.shape, -1, dtype=torch.int32, device=self.device)
        rows[moving] = torch.arange(int(moving.sum()), dtype=torch.int32, device=self.device)
        paths = self.paths
        return {
            "path_rows": rows.cpu().numpy(),
            "path_times": paths.times.cpu().numpy().astype(np.float32),
            "path_offsets": to_dataset_world(paths.offsets.cpu().numpy()).astype(np.float16),
        }

    def config_summary(self) -> dict:
        """The synthesis options as JSON-ready values."""
        return {
            option.name: str(value) if isinstance(value, Path) else value
            for option in fields(SynthesisConfig)
            for value in [getattr(self.config, option.name)]
        }

    # ---- the dataset ----

    def dataset(self) -> SynthesizedDataset:
        """The dataset folder, built when it is not cached yet."""
        return SynthesizedDataset.read(self.cache.folder_for("dataset", self.dataset_key, self._write_dataset))

    def cached_dataset(self) -> SynthesizedDataset:
        """The dataset when the cache holds it complete; Mom4dInputError saying how to make it otherwise."""
        if not self.cache.has_folder("dataset", self.dataset_key):
            raise Mom4dInputError(
                f"{self.image_path} has not been synthesised with these options yet (nothing in {self.cache.folder}): "
                f"run `mom4d-synthesize {self.image_path}` with the same options, or `ns-train mom4d --data "
                f"{self.image_path}`, which synthesises it first."
            )
        return SynthesizedDataset.read(self.cache.folder_path("dataset", self.dataset_key))

    def _write_dataset(self, folder: Path) -> None:
        views = self.view_arrays
        motion = self.motion_arrays
        started = time.perf_counter()
        writer = DatasetWriter(folder, self.intrinsics, self.config.num_frames)
        for index, view in enumerate(self.views):
            writer.add_frame(view.name, index, 0, view.cam_to_world, views["rgb"][index], views["confidence"][index])
            writer.add_motion_mask(view.name, views["motion_masks"][index])
            writer.add_depth(view.name, views["depths"][index])
        animated = self.animated_view_indices() if self.moving.any() else []
        frames_per_view = self.config.num_frames - 1
        with progress_bar("Rendering looping videos", len(animated) * frames_per_view) as advance:
            for index in animated:
                looping = self.looping_view(index)
                static_rgb = views["rgb"][index]
                static_confidence = views["confidence"][index]
                for frame_index in range(1, self.config.num_frames):
                    frame = looping.frame(frame_index)
                    covered = (frame.coverage >= COVERAGE_THRESHOLD).cpu().numpy()
                    features = frame.features.cpu().numpy()
                    rgb = np.where(covered[..., None], to_uint8(features[..., _RGB]), static_rgb)
                    opaque = features[..., _OPAQUE] >= 0.5
                    # Pixels neither splat reached keep the static view's (filled) colour, trusted as a guess at most.
                    confidence = np.where(
                        covered, np.where(opaque, OBSERVED_LEVEL, 0), np.minimum(static_confidence, INPAINTED_LEVEL)
                    ).astype(np.uint8)
                    writer.add_frame(
                        self.views[index].name, index, frame_index, self.views[index].cam_to_world, rgb, confidence
                    )
                    advance()
        invented = self.invented
        points = {
            "xyz": to_dataset_world(torch.cat([self.points, invented.points]).cpu().numpy()).astype(np.float32),
            "rgb": to_uint8(np.concatenate([self.image.rgb.reshape(-1, 3), invented.rgb.cpu().numpy()])),
            # Invented points are static.
            "velocity": to_dataset_world(np.pad(self.velocity.cpu().numpy(), ((0, len(invented)), (0, 0)))).astype(
                np.float32
            ),
            "moving": np.pad(self.moving.cpu().numpy(), (0, len(invented))).astype(np.float32),
            **self._path_arrays(len(invented)),
        }
        self.timings["dataset"] = time.perf_counter() - started
        writer.finish(
            points,
            extra={
                "image": str(self.image_path),
                "image_sha256": self.image.content_hash,
                "motion_source": self.motion_input.source,
                "velocity_units": "world units per frame",
                "input_view": self.views[0].name,
                "animated_views": [self.views[index].name for index in animated],
                "inconsistency_before": float(motion["inconsistency_before"]),
                "inconsistency_after": float(motion["inconsistency_after"]),
                "loop_blend": self.config.loop_blend,
                "config": self.config_summary(),
            },
        )


def synthesize(image_path: Path, config: SynthesisConfig) -> SynthesizedDataset:
    """The dataset of `image_path` with `config`, synthesised when the cache lacks it."""
    setup_logging()
    return SceneSynthesis(image_path, config).dataset()


def cached_dataset(image_path: Path, config: SynthesisConfig) -> SynthesizedDataset:
    """The dataset of `image_path` with `config`, from the cache (see `SceneSynthesis.cached_dataset`)."""
    return SceneSynthesis(image_path, config).cached_dataset()
