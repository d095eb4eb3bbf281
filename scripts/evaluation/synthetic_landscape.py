"""Procedural landscape scenes with analytic ground truth, for benchmarking mom4d.

A seeded generator (`LandscapeParams.random`) draws a landscape: textured terrain near the camera rising to
far mountains, a stream or a lake whose surface texture flows along a known velocity field, and a sky whose
clouds drift with a known rotation. `build_scene` makes it, scaled so that the input view's nearest depth is
1 (the unit of the method's test camera paths), and `render` ray-marches it from any camera at any time, with
its true depth, motion mask and 3D velocity; `image_flow` projects that velocity into pixels per frame.

`write_scene` writes what the benchmark feeds the method and compares it against, for the input camera at
t = 0: the photo, a labelme annotation as a user would draw it (coarse motion polygons, a few rough hint arrows),
and the true depth, motion mask, 3D velocity and image flow. `render_frames` renders ground-truth
frames for any poses and times.

Units: the dataset's world (x right, y forward, z up; the input camera at the origin, level, looking along
+y; nerfstudio's OpenGL camera-to-world poses). Lengths in `LandscapeParams` are scene units, which the scene
maps to world units by its `scale` (close to 1 for drawn parameters); speeds are in world units per frame.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import torch

from dataparsers.dataset_format import opengl_camera_to_world
from evaluation.synthetic_annotation import HINT_COUNT, labelme_document
from evaluation.synthetic_render import LandscapeRender, image_flow, render
from evaluation.synthetic_scene import LandscapeScene
from mom_nerfstudio.synthesis.cameras import Intrinsics, intrinsics_from_fov
from mom_nerfstudio.synthesis.depth.convention import NEAR_PERCENTILE

__all__ = [
    "LandscapeParams",
    "LandscapeRender",
    "LandscapeScene",
    "build_scene",
    "image_flow",
    "input_camera",
    "is_written",
    "read_params",
    "render",
    "render_frames",
    "write_scene",
]

WaterKind = Literal["stream", "lake", "none"]

NORMALISATION_LONG_SIDE = 192
"""The nearest depth is normalised on a render of the input view with this many pixels along its long side."""

CALIBRATION_LONG_SIDE = 160
"""`LandscapeParams.random` measures the water's image speed on a render of this size (long side, pixels)."""

REFERENCE_LONG_SIDE = 1024
"""Image size (long side) at which drawn water and cloud speeds are stated in pixels per frame."""

WATER_IMAGE_SPEED = (0.6, 1.6)
"""Range of the median water speed, px/frame at REFERENCE_LONG_SIDE, that `LandscapeParams.random` aims for."""

CLOUD_IMAGE_SPEED = (0.2, 0.7)
"""Range of the cloud speed near the horizon, px/frame at REFERENCE_LONG_SIDE, that drawn scenes get."""

MIN_WATER_FRACTION = 0.01
MIN_SKY_FRACTION = 0.08
"""A drawn scene is redrawn until its input view shows at least these fractions of water and sky."""

DEPTH_FILE, VELOCITY_FILE, FLOW_FILE = "depth.npy", "velocity.npy", "flow.npy"
MOTION_MASK_FILE, SKY_MASK_FILE, PARAMS_FILE = "motion_mask.png", "sky_mask.png", "params.json"
"""The ground-truth files `write_scene` writes beside the photo."""

SCENE_VERSION = 2
"""Bumped whenever `write_scene` writes something else for the same parameters (version 2: a sky dome beyond mom4d's
sky depth and annotations drawn like a user's), so that scenes written before are written again."""

HINT_FRAMES = 50.0
"""An arrow of length L px in the annotation stands for L / HINT_FRAMES px per frame (the project's default)."""


@dataclass(frozen=True)
class LandscapeParams:
    """Everything that defines a landscape (lengths in scene units, angles in degrees, speeds per frame)."""

    seed: int = 0
    """Seeds every noise of the scene (terrain, textures, clouds) and the annotation's hints."""
    # The input camera.
    fov_degrees: float = 55.0
    """Field of view along the image's long side."""
    aspect_ratio: float = 16.0 / 9.0
    """Width / height of the input image."""
    camera_height: float = 0.3
    """Height of the camera above the ground level (z = 0) at its foot."""
    camera_pitch_degrees: float = 3.0
    """Downward tilt of the camera."""
    # Terrain.
    ground_roughness: float = 0.04
    """Height of the rolling ground's bumps."""
    ground_wavelength: float = 1.5
    hill_height: float = 1.0
    """Height of the hills either side of the valley."""
    hill_wavelength: float = 3.0
    valley_half_width: float = 2.5
    """Hills rise from this distance to the valley's centre line."""
    valley_offset: float = 0.0
    """x of the valley's centre line at the camera's foot."""
    meander_amplitude: float = 0.6
    meander_wavelength: float = 10.0
    meander_phase: float = 0.0
    """The centre line is x = valley_offset + amplitude * (sin(2 pi y / wavelength + phase) - sin(phase))."""
    mountain_distance: float = 25.0
    """Mountains rise from this distance to the camera's foot over the next 10 units."""
    mountain_height: float = 3.0
    mountain_wavelength: float = 7.0
    # Water.
    water_kind: WaterKind = "stream"
    """A stream along the valley's centre line, a lake in the valley, or no water."""
    water_half_width: float = 0.35
    """Half-width of the stream, or the lake's semi-axis across the view."""
    lake_distance: float = 6.0
    """Distance of the lake's centre ahead of the camera (along y)."""
    lake_length: float = 2.0
    """The lake's semi-axis along the view."""
    water_depth: float = 0.08
    """Depth of the channel or basin below the water level."""
    water_speed: float = 0.01
    """Fastest water speed in world units per frame (the stream's middle, the lake's centre)."""
    flow_heading_degrees: float = 180.0
    """Heading of the flow in the ground plane, clockwise from the camera's forward direction (180: towards it).
    A stream follows its channel, away from the camera when the heading points away, towards it otherwise."""
    # Sky.
    cloud_angular_velocity: tuple[float, float, float] = (0.0, 0.0, 4e-4)
    """Rotation of the cloud dome about its centre (the input camera), radians per frame, in scene axes
    (z up: a positive z component drifts the clouds to the left)."""
    cloud_cover: float = 0.5
    """From 0 (clear) to 1 (overcast)."""
    cloud_wavelength: float = 0.8
    """Size of the cloud pattern on the cloud plane z = 1 above the camera."""
    # Appearance.
    texture_scale: float = 1.0
    """Multiplies the size of every terrain and water texture."""
    grass_hue: float = 0.2
    """0: green grass; 1: straw."""
    sun_azimuth_degrees: float = 30.0
    sun_elevation_degrees: float = 35.0
    haze_distance: float = 60.0
    """Distance over which aerial haze reaches 63 % (scene units)."""

    @classmethod
    def random(cls, seed: int) -> LandscapeParams:
        """A varied but plausible landscape, the same for the same seed.

        The layout is redrawn until the input view shows water and sky, and the water speed is set so that the
        water's median image speed at REFERENCE_LONG_SIDE px falls within WATER_IMAGE_SPEED.
        """
        rng = np.random.default_rng(seed)
        for _ in range(50):
            params = _draw(seed, rng)
            scene = build_scene(params)
            pose, intrinsics = input_camera(params, _long_side_width(params, CALIBRATION_LONG_SIDE))
            view = render(scene, pose, intrinsics, 0.0)
            water = view.water_mask
            if water.float().mean() < MIN_WATER_FRACTION or view.sky_mask.float().mean() < MIN_SKY_FRACTION:
                continue
            speeds = torch.linalg.norm(image_flow(view, pose, intrinsics)[water], dim=-1)
            reference_speed = float(speeds.median()) * REFERENCE_LONG_SIDE / max(intrinsics.width, intrinsics.height)
            target = rng.uniform(*WATER_IMAGE_SPEED)
            return replace(params, water_speed=params.water_speed * target / reference_speed)
        raise RuntimeError(f"no landscape with visible water and sky was drawn for seed {seed}")

    def to_dict(self) -> dict:
        """The parameters as a JSON-compatible dictionary."""
        values = asdict(self)
        values["cloud_angular_velocity"] = list(self.cloud_angular_velocity)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> LandscapeParams:
        """Parameters from `to_dict`'s output; unknown keys are an error, missing ones take their defaults."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown landscape parameters: {', '.join(unknown)}")
        values = dict(values)
        if "cloud_angular_velocity" in values:
            values["cloud_angular_velocity"] = tuple(float(value) for value in values["cloud_angular_velocity"])
        return cls(**values)


def _draw(seed: int, rng: np.random.Generator) -> LandscapeParams:
    """One draw of a landscape's layout and looks (the water speed is provisional)."""
    aspect_ratio = float(rng.choice([16.0 / 9.0, 3.0 / 2.0, 4.0 / 3.0]))
    fov = rng.uniform(48.0, 62.0)
    pitch = rng.uniform(0.0, 5.0)
    half_vertical = math.degrees(math.atan(math.tan(math.radians(fov / 2.0)) / aspect_ratio))
    roughness = rng.uniform(0.02, 0.06)
    # A height that puts the flat ground seen by the bottom rows at a z-depth of about 1.
    bottom = math.radians(pitch + 0.97 * half_vertical)
    off_axis = math.radians(0.97 * half_vertical)
    camera_height = math.sin(bottom) / math.cos(off_axis) * rng.uniform(0.9, 1.1) + 0.5 * roughness

    valley_half_width = rng.uniform(1.5, 3.5)
    mountain_distance = rng.uniform(20.0, 30.0)
    sky_band = half_vertical - pitch
    peak_elevation = math.radians(rng.uniform(0.25, 0.5) * sky_band)
    mountain_height = math.tan(peak_elevation) * (mountain_distance + 10.0) / 1.1  # peaks reach ~1.1 x the height
    stream = rng.uniform() < 0.6
    # Turning about the vertical at omega rad/frame moves the horizon by omega * focal px/frame.
    cloud_speed = rng.uniform(*CLOUD_IMAGE_SPEED) * 2.0 * math.tan(math.radians(fov / 2.0)) / REFERENCE_LONG_SIDE
    cloud_drift = float(rng.choice([-1.0, 1.0]))
    return LandscapeParams(
        seed=seed,
        fov_degrees=fov,
        aspect_ratio=aspect_ratio,
        camera_height=camera_height,
        camera_pitch_degrees=pitch,
        ground_roughness=roughness,
        ground_wavelength=rng.uniform(1.0, 2.5),
        hill_height=rng.uniform(0.4, 1.6),
        hill_wavelength=rng.uniform(2.0, 5.0),
        valley_half_width=valley_half_width,
        valley_offset=rng.uniform(-0.4, 0.4) * valley_half_width,
        meander_amplitude=rng.uniform(0.2, 1.2),
        meander_wavelength=rng.uniform(6.0, 14.0),
        meander_phase=rng.uniform(0.0, 2.0 * math.pi),
        mountain_distance=mountain_distance,
        mountain_height=mountain_height,
        mountain_wavelength=rng.uniform(5.0, 10.0),
        water_kind="stream" if stream else "lake",
        water_half_width=rng.uniform(0.25, 0.6) if stream else rng.uniform(1.5, 3.5),
        lake_distance=rng.uniform(3.0, 7.0),
        lake_length=rng.uniform(1.5, 3.0),
        water_depth=0.08,
        water_speed=0.01,
        flow_heading_degrees=(180.0 if rng.uniform() < 0.75 else 0.0) if stream else rng.uniform(0.0, 360.0),
        cloud_angular_velocity=(rng.uniform(-0.2, 0.2) * cloud_speed, 0.0, cloud_drift * cloud_speed),
        cloud_cover=rng.uniform(0.25, 0.7),
        cloud_wavelength=rng.uniform(0.5, 1.2),
        texture_scale=rng.uniform(0.7, 1.4),
        grass_hue=rng.uniform(0.0, 1.0),
        sun_azimuth_degrees=rng.uniform(-120.0, 120.0),
        sun_elevation_degrees=rng.uniform(20.0, 55.0),
        haze_distance=rng.uniform(40.0, 90.0),
    )


def _long_side_width(params: LandscapeParams, long_side: int) -> int:
    """Width of the input image whose long side is `long_side` pixels."""
    return long_side if params.aspect_ratio >= 1.0 else max(1, round(long_side * params.aspect_ratio))


def input_camera(params: LandscapeParams, width: int) -> tuple[np.ndarray, Intrinsics]:
    """The input camera at `width` pixels: its OpenGL camera-to-world [4, 4] (the identity pose of the
    dataset's world: at the origin, looking along +y) and its intrinsics (fov along the long side)."""
    height = max(1, round(width / params.aspect_ratio))
    return opengl_camera_to_world(np.eye(4)), intrinsics_from_fov(width, height, params.fov_degrees)


def build_scene(params: LandscapeParams, device: torch.device | str = "cpu") -> LandscapeScene:
    """The landscape of `params`, scaled so that the 1st percentile of the input view's non-sky z-depth is 1
    (measured at NORMALISATION_LONG_SIDE px; at other sizes it stays within about 1 %)."""
    scene = LandscapeScene.unscaled(params, device)
    pose, intrinsics = input_camera(params, _long_side_width(params, NORMALISATION_LONG_SIDE))
    view = render(scene, pose, intrinsics, 0.0)
    ground = view.depth[~view.sky_mask]
    if ground.numel() == 0:
        raise ValueError("the input view sees no terrain or water to normalise the depth with")
    nearest = float(np.percentile(ground.cpu().numpy(), NEAR_PERCENTILE, method="lower"))
    return replace(scene, scale=1.0 / nearest)


def render_frames(
    scene: LandscapeScene,
    poses: Iterable[np.ndarray | torch.Tensor],
    times: Iterable[float],
    intrinsics: Intrinsics,
    supersampling: int = 2,
) -> Iterator[LandscapeRender]:
    """Ground-truth renders, one per (OpenGL camera-to-world pose, time in frames) pair, in order."""
    for pose, time in zip(poses, times, strict=True):
        yield render(scene, pose, intrinsics, float(time), supersampling=supersampling)


def write_scene(
    folder: Path,
    params: LandscapeParams,
    width: int = 1024,
    supersampling: int = 2,
    name: str | None = None,
    device: torch.device | str = "cpu",
) -> Path:
    """Write the input view of a landscape at t = 0 and its ground truth into `folder`; returns the photo's path.

    Files: `<name>.png` (the photo), `<name>.json` (a labelme annotation beside it, drawn as a user would: coarse
    `motion_water` and `motion_sky` polygons and a few rough `hint` lines per region, see `synthetic_annotation`),
    `depth.npy` (float32 HxW true z-depth, world units: the 1st percentile of non-sky depth is 1; the sky dome's
    depth, up to DOME_RADIUS, on the sky), `velocity.npy` (float32 HxWx3, world units per frame), `flow.npy`
    (float32 HxWx2, px/frame), `motion_mask.png` (255 where water or sky), `sky_mask.png` (255 on the sky) and
    `params.json` (the parameters, the scale and the camera). `LandscapeGroundTruth.load(folder)` reads them back.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = name or f"landscape_{params.seed:04d}"
    scene = build_scene(params, device)
    pose, intrinsics = input_camera(params, width)
    view = render(scene, pose, intrinsics, 0.0, supersampling=supersampling)
    flow = image_flow(view, pose, intrinsics).cpu().numpy()
    rgb = (view.rgb.cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    water, sky = view.water_mask.cpu().numpy(), view.sky_mask.cpu().numpy()

    rng = np.random.default_rng(params.seed)
    regions = {"water": water, "sky": sky}
    counts = {region: int(rng.integers(HINT_COUNT[0], HINT_COUNT[1] + 1)) for region in regions}
    annotation = labelme_document(f"{name}.png", regions, counts, flow, rng, hint_frames=HINT_FRAMES)
    _write_png(folder / f"{name}.png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    _write_png(folder / MOTION_MASK_FILE, view.motion_mask.cpu().numpy().astype(np.uint8) * 255)
    _write_png(folder / SKY_MASK_FILE, sky.astype(np.uint8) * 255)
    (folder / f"{name}.json").write_text(json.dumps(annotation, indent=1))
    np.save(folder / DEPTH_FILE, view.depth.cpu().numpy().astype(np.float32))
    np.save(folder / VELOCITY_FILE, view.velocity.cpu().numpy().astype(np.float32))
    np.save(folder / FLOW_FILE, flow.astype(np.float32))
    description = {
        "params": params.to_dict(),
        "scale": scene.scale,
        "image": f"{name}.png",
        "camera_to_world": pose.tolist(),
        "intrinsics": asdict(intrinsics),
        "time_frames": 0.0,
        "hint_frames": HINT_FRAMES,
        "version": SCENE_VERSION,
    }
    (folder / PARAMS_FILE).write_text(json.dumps(description, indent=1))
    return folder / f"{name}.png"


def _write_png(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path}")


def is_written(folder: Path, params: LandscapeParams, width: int) -> bool:
    """Whether `folder` holds the scene of `params` at `width` pixels, written by this version of `write_scene`."""
    path = Path(folder) / PARAMS_FILE
    if not path.is_file():
        return False
    description = json.loads(path.read_text())
    return (
        description.get("version") == SCENE_VERSION
        and description["intrinsics"]["width"] == width
        and LandscapeParams.from_dict(description["params"]) == params
    )


def read_params(folder: Path) -> LandscapeParams:
    """The parameters of a scene written by `write_scene` into `folder` (rebuild it with `build_scene`)."""
    return LandscapeParams.from_dict(json.loads((Path(folder) / PARAMS_FILE).read_text())["params"])
