"""Geometry and motion of the synthetic landscape, in scene units, and the map to the dataset's world.

Scene frame: x right, y forward, z up, ground level z = 0 at the foot of the input camera, which stands at
(0, 0, camera_height) and looks along +y, pitched down by `camera_pitch_degrees`. The dataset's world is the
input camera's level frame (x right, y forward along its optical axis, z its up axis, origin at the camera),
scaled by `LandscapeScene.scale` world units per scene unit so that the input view's nearest depth is 1.

Content:
- terrain z = h(x, y): rolling ground, hills either side of a meandering valley, mountains rising beyond
  `mountain_distance`, and a channel (stream) or basin (lake) carved below the water level. The height field is
  sampled once on a polar grid around the camera's foot (angle x log radius, so that its cells subtend about
  the same angle from the camera near and far) and read bicubically: that smooth surface is the geometry;
- water: the plane z = WATER_LEVEL wherever the terrain lies below it; its texture flows with the velocity
  field `water_velocity` (scene units per frame), by advection: texture coordinate u - t * v(u) at frame t;
- sky: a dome of radius DOME_RADIUS world units about the input camera, behind everything; its clouds turn
  rigidly about the dome's centre with angular velocity `cloud_angular_velocity` (radians per frame), so a
  cloud point p moves at omega x p. The terrain ends TERRAIN_REACH world units from the camera, in front of the
  dome. The dome lies farther than the sky depth that mom4d assumes (`mom_nerfstudio.synthesis.depth.convention.SKY_DEPTH`),
  so that a method is never handed its own sky depth.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from evaluation.synthetic_noise import FractalNoise, NoiseLattice, smoothstep

if TYPE_CHECKING:
    from evaluation.synthetic_landscape import LandscapeParams

WATER_LEVEL = -0.015
"""Height of every water surface (scene units). The terrain outside the carved channel or basin stays above 0."""

DOME_RADIUS = 200.0
"""Radius of the sky dome in world units (the nearest scene depth is 1). With the camera about 0.3 units, say 1.5 m,
above the ground, a unit is about 5 m and the clouds are about 1 km away: a low cloud base. It differs from mom4d's
sky depth (50) on purpose: the sky's true depth cannot be read from one photo, and the benchmark must not hand it
over."""

TERRAIN_REACH = 50.0
"""Distance from the camera (world units) beyond which no terrain is drawn: the far mountains lie within it, and
rays that pass over them end on the dome."""

GRID_ANGLE_STEP = 0.005
"""Angular size (radians) of a cell of the polar height grid, also its step in log radius."""

GRID_HALF_ANGLE = math.radians(115.0)
"""The grid covers azimuths within this angle of the forward direction; beyond, the edge values extend."""

GRID_RADII = (0.05, 80.0)
"""Nearest and farthest ground distance from the camera's foot covered by the grid (scene units)."""

_GRID_FOOTPRINT = 1.5
"""The terrain's noise is filtered to this many grid cells: an octave fades in as its wavelength grows from 3 to 6
cells, so that the grid resolves every octave it holds."""


@dataclass(frozen=True)
class PolarHeightGrid:
    """Terrain heights on a grid over (azimuth from +y towards +x, log radius), read bicubically."""

    heights: torch.Tensor  # [1, 1, radii, angles]
    max_height: float

    @staticmethod
    def sample_points(device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Ground points (x, y) [radii, angles, 2] of the grid's nodes, and each node's cell size [radii, angles]."""
        angles = torch.arange(-GRID_HALF_ANGLE, GRID_HALF_ANGLE + 0.5 * GRID_ANGLE_STEP, GRID_ANGLE_STEP)
        log_radii = torch.arange(math.log(GRID_RADII[0]), math.log(GRID_RADII[1]), GRID_ANGLE_STEP)
        radii = log_radii.exp()
        angles, radii = angles.to(device), radii.to(device)
        x = radii[:, None] * torch.sin(angles)[None, :]
        y = radii[:, None] * torch.cos(angles)[None, :]
        cell = (radii * GRID_ANGLE_STEP)[:, None].expand_as(x)
        return torch.stack([x, y], dim=-1), cell

    def to(self, device: torch.device | str) -> PolarHeightGrid:
        """The same grid on `device`."""
        return PolarHeightGrid(self.heights.to(device), self.max_height)

    def __call__(self, xy: torch.Tensor) -> torch.Tensor:
        """Terrain height at ground points [..., 2] -> [...]."""
        shape = xy.shape[:-1]
        x, y = xy.reshape(-1, 2).unbind(-1)
        angle = torch.atan2(x, y)
        log_radius = torch.log(torch.hypot(x, y).clamp_min(GRID_RADII[0]))
        rows, cols = self.heights.shape[-2:]
        # align_corners=True: node i of n sits at -1 + 2 i / (n - 1).
        u = (angle + GRID_HALF_ANGLE) / (GRID_ANGLE_STEP * (cols - 1)) * 2.0 - 1.0
        v = (log_radius - math.log(GRID_RADII[0])) / (GRID_ANGLE_STEP * (rows - 1)) * 2.0 - 1.0
        grid = torch.stack([u, v], dim=-1).reshape(1, 1, -1, 2)
        sampled = F.grid_sample(self.heights, grid, mode="bicubic", padding_mode="border", align_corners=True)
        return sampled.reshape(shape)


@dataclass(frozen=True)
class LandscapeTextures:
    """The seeded noises behind the scene's shapes and colours."""

    ground: FractalNoise  # 1 channel
    hills: FractalNoise  # 1 channel
    mountains: FractalNoise  # 1 channel, ridged
    mountain_massifs: FractalNoise  # 1 channel: where the range is high or low
    shore: FractalNoise  # 1 channel: irregular lake shores
    terrain_patches: FractalNoise  # 2 channels: large-scale colour variation
    terrain_detail: FractalNoise  # 2 channels: fine grain
    water_ripples: FractalNoise  # 2 channels
    clouds: FractalNoise  # 2 channels

    @classmethod
    def random(cls, params: LandscapeParams) -> LandscapeTextures:
        """The noises of a scene, drawn in a fixed order from a generator seeded with `params.seed`."""
        generator = torch.Generator().manual_seed(params.seed)

        def lattice(channels: int) -> NoiseLattice:
            return NoiseLattice.random(generator, channels)

        texture = params.texture_scale
        return cls(
            ground=FractalNoise(lattice(1), params.ground_wavelength, octaves=7),
            hills=FractalNoise(lattice(1), params.hill_wavelength, octaves=6),
            mountains=FractalNoise(lattice(1), params.mountain_wavelength, octaves=7, gain=0.45, ridged=True),
            mountain_massifs=FractalNoise(lattice(1), 4.0 * params.mountain_wavelength, octaves=2),
            shore=FractalNoise(lattice(1), 0.6 * params.water_half_width + 0.2, octaves=3),
            terrain_patches=FractalNoise(lattice(2), 3.0 * texture, octaves=5),
            terrain_detail=FractalNoise(lattice(2), 0.3 * texture, octaves=9, gain=0.85),
            water_ripples=FractalNoise(lattice(2), 0.12 * texture, octaves=7, gain=0.75),
            clouds=FractalNoise(lattice(2), params.cloud_wavelength, octaves=6, gain=0.55),
        )

    def to(self, device: torch.device | str) -> LandscapeTextures:
        """The same noises on `device`."""
        return LandscapeTextures(**{name: noise.to(device) for name, noise in vars(self).items()})


@dataclass(frozen=True)
class LandscapeScene:
    """One landscape: its parameters, its noises, its height grid and the scale of the dataset's world."""

    params: LandscapeParams
    textures: LandscapeTextures
    heights: PolarHeightGrid
    scale: float = 1.0
    """World units per scene unit."""

    @classmethod
    def unscaled(cls, params: LandscapeParams, device: torch.device | str = "cpu") -> LandscapeScene:
        """The scene of `params` with scale 1 (before its depths are normalised)."""
        textures = LandscapeTextures.random(params).to(device)
        points, cell = PolarHeightGrid.sample_points(device)
        heights = terrain_height(params, textures, points, footprint=_GRID_FOOTPRINT * cell)
        grid = PolarHeightGrid(heights[None, None].contiguous(), float(heights.max()))
        return cls(params=params, textures=textures, heights=grid)

    @property
    def device(self) -> torch.device:
        """Where the scene's tensors live."""
        return self.heights.heights.device

    def to(self, device: torch.device | str) -> LandscapeScene:
        """The same scene on `device`."""
        return replace(self, textures=self.textures.to(device), heights=self.heights.to(device))

    # --- frames ---------------------------------------------------------------------------------------------

    def world_to_scene_rotation(self) -> torch.Tensor:
        """Rotation [3, 3] taking world directions into the scene frame (the camera's pitch, undone)."""
        pitch = math.radians(self.params.camera_pitch_degrees)
        cos, sin = math.cos(pitch), math.sin(pitch)
        # Columns: the world's x, y (the camera's forward) and z (the camera's up) in scene coordinates.
        return torch.tensor([[1.0, 0.0, 0.0], [0.0, cos, sin], [0.0, -sin, cos]], device=self.device)

    def camera_position(self) -> torch.Tensor:
        """Where the input camera (the world's origin) stands in the scene frame."""
        return torch.tensor([0.0, 0.0, self.params.camera_height], device=self.device)

    def points_to_scene(self, points: torch.Tensor) -> torch.Tensor:
        """World points [..., 3] -> scene points."""
        return points @ self.world_to_scene_rotation().T / self.scale + self.camera_position()

    def directions_to_scene(self, directions: torch.Tensor) -> torch.Tensor:
        """World directions [..., 3] -> scene directions (lengths kept)."""
        return directions @ self.world_to_scene_rotation().T

    def velocities_to_world(self, velocities: torch.Tensor) -> torch.Tensor:
        """Scene velocities [..., 3] (scene units per frame) -> world units per frame."""
        return velocities @ self.world_to_scene_rotation() * self.scale

    # --- motion ---------------------------------------------------------------------------------------------

    def water_velocity(self, xy: torch.Tensor) -> torch.Tensor:
        """Velocity [..., 2] (scene units per frame) of the water surface at ground points [..., 2]."""
        return water_velocity(self.params, xy, self.params.water_speed / self.scale)

    def cloud_angular_velocity(self) -> torch.Tensor:
        """Angular velocity [3] of the cloud dome in world axes (radians per frame)."""
        omega = torch.tensor(self.params.cloud_angular_velocity, dtype=torch.float32, device=self.device)
        return omega @ self.world_to_scene_rotation()


# --- the shapes -------------------------------------------------------------------------------------------------


def valley_centre(params: LandscapeParams, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x of the valley's centre line (where a stream runs) at distances `y`, and its slope dx/dy."""
    wavenumber = 2.0 * math.pi / params.meander_wavelength
    phase = wavenumber * y + params.meander_phase
    x = params.valley_offset + params.meander_amplitude * (torch.sin(phase) - math.sin(params.meander_phase))
    return x, params.meander_amplitude * wavenumber * torch.cos(phase)


def stream_coordinates(params: LandscapeParams, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Signed distance across the valley's centre line [...], and the line's unit tangent [..., 2] (towards +y)."""
    centre, slope = valley_centre(params, xy[..., 1])
    norm = torch.sqrt(1.0 + slope * slope)
    tangent = torch.stack([slope / norm, 1.0 / norm], dim=-1)
    return (xy[..., 0] - centre) / norm, tangent


def lake_radius(params: LandscapeParams, xy: torch.Tensor) -> torch.Tensor:
    """Elliptic radius of ground points about the lake's centre: 1 on its (smooth) shore ellipse."""
    centre_x, _ = valley_centre(params, torch.full_like(xy[..., 1], params.lake_distance))
    dx = (xy[..., 0] - centre_x) / params.water_half_width
    dy = (xy[..., 1] - params.lake_distance) / params.lake_length
    return torch.sqrt(dx * dx + dy * dy)


def terrain_height(
    params: LandscapeParams, textures: LandscapeTextures, xy: torch.Tensor, footprint: torch.Tensor
) -> torch.Tensor:
    """The analytic terrain height [...] at ground points [..., 2], smoothed to `footprint` [...] (scene units)."""
    x, y = xy[..., 0], xy[..., 1]
    radius = torch.hypot(x, y)
    ground = params.ground_roughness * (0.5 + 0.5 * textures.ground(xy, footprint)[..., 0]).clamp_min(0.0)

    across, _ = stream_coordinates(params, xy)
    hill_rise = smoothstep(params.valley_half_width, 2.5 * params.valley_half_width, across.abs())
    envelope = smoothstep(params.mountain_distance, params.mountain_distance + 10.0, radius)

    def hills_at(where: torch.Tensor) -> torch.Tensor:
        bumps = (0.6 + 0.5 * textures.hills(xy[where], footprint[where])[..., 0]).clamp_min(0.0)
        return params.hill_height * hill_rise[where] * bumps

    def mountains_at(where: torch.Tensor) -> torch.Tensor:
        ridges = (0.5 + 0.5 * textures.mountains(xy[where], footprint[where])[..., 0]).clamp(0.0, 1.2)
        massifs = 0.7 + 0.3 * textures.mountain_massifs(xy[where], footprint[where])[..., 0]
        return params.mountain_height * envelope[where] * massifs * (0.35 + 0.65 * ridges)

    hills, mountains = _where_positive(hill_rise, hills_at), _where_positive(envelope, mountains_at)

    height = ground + hills + mountains
    bed = WATER_LEVEL - params.water_depth
    return bed + (height - bed) * (1.0 - water_carving(params, textures, xy, radius))


def _where_positive(weight: torch.Tensor, values: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """A term that is zero wherever `weight` is: `values(where)` gives it at the points of the bool mask
    `where = weight > 0`, so that its noise is only evaluated where it counts."""
    result = torch.zeros_like(weight)
    where = weight > 0
    if bool(where.any()):
        result[where] = values(where)
    return result


def water_carving(
    params: LandscapeParams, textures: LandscapeTextures, xy: torch.Tensor, radius: torch.Tensor
) -> torch.Tensor:
    """How much of the terrain is replaced by the water's bed [...]: 1 inside the channel or basin, 0 away."""
    if params.water_kind == "stream":
        across, _ = stream_coordinates(params, xy)
        inside = 1.0 - smoothstep(0.7 * params.water_half_width, 1.4 * params.water_half_width, across.abs())
        # The stream runs out of the mountains: its channel fades out before them.
        return inside * (1.0 - smoothstep(params.mountain_distance - 4.0, params.mountain_distance + 2.0, radius))
    if params.water_kind == "lake":
        shore = lake_radius(params, xy) + 0.12 * textures.shore(xy)[..., 0]
        return 1.0 - smoothstep(0.8, 1.15, shore)
    return torch.zeros_like(radius)


def water_velocity(params: LandscapeParams, xy: torch.Tensor, speed: float) -> torch.Tensor:
    """The water's velocity field [..., 2] at ground points [..., 2], fastest `speed` (scene units per frame).

    A stream flows along the valley's centre line, away from the camera when `flow_heading_degrees` points
    away (within 90 degrees of forward) and towards it otherwise, fastest in the middle and at 40 % of that at
    its banks; a lake drifts along the heading, fastest at its centre.
    """
    heading = math.radians(params.flow_heading_degrees)
    direction = torch.tensor([math.sin(heading), math.cos(heading)], dtype=xy.dtype, device=xy.device)
    if params.water_kind == "stream":
        across, tangent = stream_coordinates(params, xy)
        sense = 1.0 if math.cos(heading) > 0 else -1.0
        middle = 1.0 - (across / params.water_half_width).clamp(-1.0, 1.0).square()
        return tangent * (sense * speed * (0.4 + 0.6 * middle)).unsqueeze(-1)
    if params.water_kind == "lake":
        middle = 1.0 - lake_radius(params, xy).clamp(max=1.0).square()
        return direction * (speed * (0.4 + 0.6 * middle)).unsqueeze(-1)
    return torch.zeros_like(xy)
