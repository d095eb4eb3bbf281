"""Per-pixel ray marching of the synthetic landscape, with its ground truth: depth, what moves, and how fast.

Each pixel's ray is marched against the terrain's height field in fixed steps that grow with the distance
(geometric spacing, so that far steps are as fine on screen as near ones; a step that passes close to the
terrain is searched again in finer steps, so that thin ridges are not stepped over), the first step below the
terrain is refined by bisection and a final secant step, the water plane is met analytically where the
terrain lies below it, and rays that hit nothing within the terrain's reach end on the sky dome. Everything is
vectorised over rays, on the scene's device.

Cameras follow nerfstudio: camera-to-world [4, 4] in the OpenGL convention (x right, y up, looking along -z),
pixel centres at (column + 0.5, row + 0.5) for intrinsics cx, cy. Depth is z-depth along the optical axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from evaluation.synthetic_materials import (
    apply_haze,
    cloud_layer,
    sky_colour,
    terrain_colour,
    water_colour,
)
from evaluation.synthetic_scene import (
    DOME_RADIUS,
    TERRAIN_REACH,
    WATER_LEVEL,
    LandscapeScene,
)
from mom_nerfstudio.synthesis.cameras import Intrinsics

TERRAIN, WATER, SKY = 0, 1, 2
"""Values of `LandscapeRender.surface`: what each pixel's centre ray sees."""

MARCH_RANGE = (0.02, 200.0)
"""Distances (scene units) between which every ray takes the same geometric sequence of steps; each stops at the
sky dome or above the highest peak. The camera is never as close to the ground as the first."""

MARCH_STEPS = 256
"""Steps over MARCH_RANGE: each step is 3.7 % longer than the one before."""

SUBSTEPS = 8
"""A step that passes close to the terrain is searched again in this many finer steps."""

CLOSE_APPROACH_SLOPE = 1.0
"""A step counts as close when the clearances above the terrain at its two ends add up to less than this times
its length: a ridge as steep as that could then rise between them."""

REFINE_STEPS = 12
"""Bisection steps that narrow each hit down (to 1/4096 of a march step) before the final secant step."""

_GRAZING_LIMIT = 0.05
"""Texture footprints grow as 1 / sqrt(cos(incidence)) down to this cosine, a compromise between blurring
across and aliasing along grazing views."""


@dataclass(frozen=True)
class LandscapeRender:
    """A rendered view and its ground truth, as tensors on the scene's device.

    rgb: [H, W, 3] in [0, 1] (averaged over the supersamples); the others come from each pixel's centre ray:
    depth: [H, W] z-depth in world units; surface: [H, W] uint8 (TERRAIN, WATER or SKY); velocity: [H, W, 3]
    the world velocity (world units per frame) of the surface point seen, zero on the terrain.
    """

    rgb: torch.Tensor
    depth: torch.Tensor
    surface: torch.Tensor
    velocity: torch.Tensor

    @property
    def motion_mask(self) -> torch.Tensor:
        """[H, W] bool: water or sky (the cloud layer), the parts of the scene that move."""
        return self.surface != TERRAIN

    @property
    def sky_mask(self) -> torch.Tensor:
        """[H, W] bool: pixels that see the sky dome."""
        return self.surface == SKY

    @property
    def water_mask(self) -> torch.Tensor:
        """[H, W] bool: pixels that see a water surface."""
        return self.surface == WATER


@dataclass(frozen=True)
class _RayHits:
    colour: torch.Tensor  # [N, 3]
    distance: torch.Tensor  # [N] world units along the unit ray
    surface: torch.Tensor  # [N] uint8
    velocity: torch.Tensor  # [N, 3] world units per frame


def render(
    scene: LandscapeScene,
    camera_to_world: torch.Tensor | np.ndarray,
    intrinsics: Intrinsics,
    time_frames: float,
    supersampling: int = 1,
) -> LandscapeRender:
    """Render the scene from a camera (OpenGL camera-to-world [4, 4] in the dataset's world) at a time in frames.

    `supersampling` S traces S x S rays per pixel for the colour; depth, surface and velocity come from the
    pixel's centre ray (traced as well when S is even), so they are exact rather than blended across edges.
    """
    if supersampling < 1:
        raise ValueError(f"supersampling must be at least 1, got {supersampling}")
    device = scene.device
    pose = _pose_tensor(camera_to_world, device)
    height, width = intrinsics.height, intrinsics.width
    offsets = (torch.arange(supersampling, device=device, dtype=torch.float32) + 0.5) / supersampling
    sub_y, sub_x = torch.meshgrid(offsets, offsets, indexing="ij")
    sub_offsets = torch.stack([sub_x.reshape(-1), sub_y.reshape(-1)], dim=-1)  # [S*S, 2] within a pixel
    centre_traced_separately = supersampling % 2 == 0
    if centre_traced_separately:
        sub_offsets = torch.cat([sub_offsets, torch.tensor([[0.5, 0.5]], device=device)])
    centre_index = sub_offsets.shape[0] - 1 if centre_traced_separately else (supersampling * supersampling) // 2

    rows, cols = torch.meshgrid(
        torch.arange(height, device=device, dtype=torch.float32),
        torch.arange(width, device=device, dtype=torch.float32),
        indexing="ij",
    )
    pixels_x = cols[..., None] + sub_offsets[:, 0]  # [H, W, K]
    pixels_y = rows[..., None] + sub_offsets[:, 1]
    camera_directions = torch.stack(
        [
            (pixels_x - intrinsics.cx) / intrinsics.fx,
            -(pixels_y - intrinsics.cy) / intrinsics.fy,
            -torch.ones_like(pixels_x),
        ],
        dim=-1,
    )
    directions = torch.nn.functional.normalize(camera_directions @ pose[:3, :3].T, dim=-1)
    origins = pose[:3, 3].expand_as(directions)
    pixel_angle = 1.0 / (max(intrinsics.fx, intrinsics.fy) * supersampling)

    hits = _trace_rays(scene, origins.reshape(-1, 3), directions.reshape(-1, 3), time_frames, pixel_angle)
    samples = sub_offsets.shape[0]
    colours = hits.colour.reshape(height, width, samples, 3)
    rgb = colours[:, :, : supersampling * supersampling].mean(dim=2)
    forward = -pose[:3, 2]
    centre_directions = directions[:, :, centre_index]
    depth = hits.distance.reshape(height, width, samples)[..., centre_index] * (centre_directions @ forward)
    return LandscapeRender(
        rgb=rgb.clamp(0.0, 1.0),
        depth=depth,
        surface=hits.surface.reshape(height, width, samples)[..., centre_index],
        velocity=hits.velocity.reshape(height, width, samples, 3)[:, :, centre_index],
    )


def _trace_rays(
    scene: LandscapeScene, origins: torch.Tensor, directions: torch.Tensor, time_frames: float, pixel_angle: float
) -> _RayHits:
    """Colour, hit distance, surface and velocity of world rays [N, 3] (unit `directions`) at a time in frames."""
    count = origins.shape[0]
    scene_origins = scene.points_to_scene(origins)
    scene_directions = scene.directions_to_scene(directions)
    dome_distance = _dome_distance(origins, directions)
    terrain_end = dome_distance.clamp(max=TERRAIN_REACH) / scene.scale
    terrain_distance = _march_terrain(scene, scene_origins, scene_directions, terrain_end)

    surface = torch.full((count,), SKY, dtype=torch.uint8, device=origins.device)
    hit = torch.isfinite(terrain_distance)
    surface[hit] = TERRAIN
    # The water plane is crossed first wherever the terrain was hit below it.
    hit_heights = scene_origins[:, 2] + torch.where(hit, terrain_distance, 0.0) * scene_directions[:, 2]
    descending = (scene_directions[:, 2] < 0) & (scene_origins[:, 2] > WATER_LEVEL)
    surface[hit & descending & (hit_heights < WATER_LEVEL)] = WATER
    water_distance = (WATER_LEVEL - scene_origins[:, 2]) / scene_directions[:, 2].clamp(max=-1e-12)
    scene_distance = torch.where(surface == WATER, water_distance, terrain_distance)

    colour = torch.zeros((count, 3), device=origins.device)
    velocity = torch.zeros((count, 3), device=origins.device)
    distance = scene_distance * scene.scale
    terrain = torch.nonzero(surface == TERRAIN).squeeze(-1)
    if terrain.numel():
        colour[terrain] = _shade_terrain(
            scene, scene_origins[terrain], scene_directions[terrain], scene_distance[terrain], pixel_angle
        )
    water = torch.nonzero(surface == WATER).squeeze(-1)
    if water.numel():
        colour[water], velocity[water] = _shade_water(
            scene, scene_origins[water], scene_directions[water], scene_distance[water], time_frames, pixel_angle
        )
    sky = torch.nonzero(surface == SKY).squeeze(-1)
    if sky.numel():
        distance[sky] = dome_distance[sky]
        dome_points = origins[sky] + dome_distance[sky, None] * directions[sky]
        colour[sky], velocity[sky] = _shade_sky(scene, dome_points, time_frames, pixel_angle)
    return _RayHits(colour=colour, distance=distance, surface=surface, velocity=velocity)


def image_flow(
    rendered: LandscapeRender, camera_to_world: torch.Tensor | np.ndarray, intrinsics: Intrinsics
) -> torch.Tensor:
    """The true image-space motion [H, W, 2] (dx, dy in pixels per frame) of a rendered view.

    Each pixel's surface point (from its depth) moves by its 3D velocity over one frame; the flow is the
    difference of the two projections. Static pixels get exactly zero.
    """
    device = rendered.depth.device
    pose = _pose_tensor(camera_to_world, device)
    height, width = rendered.depth.shape
    rows, cols = torch.meshgrid(
        torch.arange(height, device=device, dtype=torch.float32) + 0.5,
        torch.arange(width, device=device, dtype=torch.float32) + 0.5,
        indexing="ij",
    )
    depth = rendered.depth
    # OpenGL camera frame: y up, looking along -z.
    points = torch.stack(
        [(cols - intrinsics.cx) / intrinsics.fx * depth, -(rows - intrinsics.cy) / intrinsics.fy * depth, -depth],
        dim=-1,
    )
    moved = points + rendered.velocity @ pose[:3, :3]
    moved_depth = (-moved[..., 2]).clamp_min(1e-6)
    moved_x = moved[..., 0] / moved_depth * intrinsics.fx + intrinsics.cx
    moved_y = -moved[..., 1] / moved_depth * intrinsics.fy + intrinsics.cy
    flow = torch.stack([moved_x - cols, moved_y - rows], dim=-1)
    return torch.where(rendered.motion_mask[..., None], flow, torch.zeros_like(flow))


# --- intersections ----------------------------------------------------------------------------------------------


def _dome_distance(origins: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Distance [N] along unit world rays from inside the sky dome (centred at the world's origin) to the dome."""
    b = (origins * directions).sum(-1)
    c = (origins * origins).sum(-1) - DOME_RADIUS * DOME_RADIUS
    return -b + torch.sqrt((b * b - c).clamp_min(0.0))


def _march_terrain(
    scene: LandscapeScene, origins: torch.Tensor, directions: torch.Tensor, max_distance: torch.Tensor
) -> torch.Tensor:
    """Distance [N] (scene units) to the first terrain hit of unit scene rays, inf where none before `max_distance`.

    Every ray samples the same distances (a geometric sequence), so where it hits depends on the ray alone, not
    on how far it may go. A step whose two ends pass close enough to the terrain that a ridge could hide
    between them is searched again in SUBSTEPS finer steps.
    """
    heights = scene.heights
    climbing = directions[:, 2] > 0
    top = (heights.max_height - origins[:, 2]) / directions[:, 2].clamp_min(1e-12)
    end = torch.where(climbing, torch.minimum(max_distance, top), max_distance)

    def clearance(rays: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
        points = origins[rays] + distance.unsqueeze(-1) * directions[rays]
        return points[..., 2] - heights(points[..., :2])

    result = torch.full_like(max_distance, math.inf)
    active = torch.nonzero(end > MARCH_RANGE[0]).squeeze(-1)
    previous = torch.full((active.numel(),), MARCH_RANGE[0], device=origins.device)
    previous_clearance = clearance(active, previous)
    growth = (MARCH_RANGE[1] / MARCH_RANGE[0]) ** (1.0 / MARCH_STEPS)
    substeps = torch.arange(1, SUBSTEPS, device=origins.device) / SUBSTEPS
    found, lows, highs = [], [], []
    for step in range(1, MARCH_STEPS + 1):
        if active.numel() == 0:
            break
        distance = torch.minimum(end[active], torch.full_like(previous, MARCH_RANGE[0] * growth**step))
        current_clearance = clearance(active, distance)
        low, high = previous.clone(), distance.clone()
        below = current_clearance <= 0
        close = ~below & (previous_clearance + current_clearance < CLOSE_APPROACH_SLOPE * (distance - previous))
        if bool(close.any()):
            near = torch.nonzero(close).squeeze(-1)
            span = (distance - previous)[near]
            between = previous[near, None] + substeps * span[:, None]  # [K, SUBSTEPS - 1]
            dips = clearance(active[near, None], between) <= 0
            dipped = dips.any(-1)
            first = dips.to(torch.uint8).argmax(-1)
            near, first, between = near[dipped], first[dipped], between[dipped]
            below[near] = True
            high[near] = between.gather(1, first[:, None]).squeeze(1)
            low[near] = torch.where(
                first > 0, between.gather(1, (first - 1).clamp_min(0)[:, None]).squeeze(1), previous[near]
            )
        finished = below | (distance >= end[active])
        if bool(below.any()):
            found.append(active[below])
            lows.append(low[below])
            highs.append(high[below])
        if bool(finished.any()):
            keep = ~finished
            active, distance, current_clearance = active[keep], distance[keep], current_clearance[keep]
        previous, previous_clearance = distance, current_clearance
    if not found:
        return result
    index = torch.cat(found)
    result[index] = _refine_hits(scene, origins[index], directions[index], torch.cat(lows), torch.cat(highs))
    return result


def _refine_hits(
    scene: LandscapeScene, origins: torch.Tensor, directions: torch.Tensor, low: torch.Tensor, high: torch.Tensor
) -> torch.Tensor:
    """Narrow [low, high] (above the terrain at low, on or below at high) to the crossing: bisection, then secant."""

    def clearance(distance: torch.Tensor) -> torch.Tensor:
        points = origins + distance[:, None] * directions
        return points[:, 2] - scene.heights(points[:, :2])

    low_clearance, high_clearance = clearance(low), clearance(high)
    for _ in range(REFINE_STEPS):
        middle = 0.5 * (low + high)
        middle_clearance = clearance(middle)
        above = middle_clearance > 0
        low = torch.where(above, middle, low)
        low_clearance = torch.where(above, middle_clearance, low_clearance)
        high = torch.where(above, high, middle)
        high_clearance = torch.where(above, high_clearance, middle_clearance)
    fraction = low_clearance / (low_clearance - high_clearance).clamp_min(1e-12)
    return low + fraction.clamp(0.0, 1.0) * (high - low)


# --- shading ----------------------------------------------------------------------------------------------------


def _terrain_normals(scene: LandscapeScene, points: torch.Tensor, spacing: torch.Tensor) -> torch.Tensor:
    """Unit normals [N, 3] of the height field by central differences `spacing` [N] apart."""
    offsets = torch.stack([spacing, torch.zeros_like(spacing)], dim=-1)
    xy = points[:, :2]
    dx = scene.heights(xy + offsets) - scene.heights(xy - offsets)
    dy = scene.heights(xy + offsets.flip(-1)) - scene.heights(xy - offsets.flip(-1))
    normals = torch.stack([-dx, -dy, 2.0 * spacing], dim=-1)
    return torch.nn.functional.normalize(normals, dim=-1)


def _shade_terrain(
    scene: LandscapeScene, origins: torch.Tensor, directions: torch.Tensor, distance: torch.Tensor, pixel_angle: float
) -> torch.Tensor:
    """Colour [N, 3] of the terrain hit `distance` along scene rays."""
    points = origins + distance[:, None] * directions
    spread = distance * pixel_angle
    normals = _terrain_normals(scene, points, spacing=(2.0 * spread).clamp_min(1e-3))
    incidence = (normals * directions).sum(-1).abs().clamp_min(_GRAZING_LIMIT)
    colour = terrain_colour(scene, points, normals, spread / incidence.sqrt())
    return apply_haze(scene.params, colour, distance)


def _shade_water(
    scene: LandscapeScene,
    origins: torch.Tensor,
    directions: torch.Tensor,
    distance: torch.Tensor,
    time_frames: float,
    pixel_angle: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour [N, 3] and world velocity [N, 3] of the water surface `distance` along scene rays at a time."""
    points = origins + distance[:, None] * directions
    velocity = scene.water_velocity(points[:, :2])
    incidence = directions[:, 2].abs().clamp_min(_GRAZING_LIMIT)
    footprint = distance * pixel_angle / incidence.sqrt()
    colour = water_colour(scene, points[:, :2] - time_frames * velocity, footprint)
    world_velocity = scene.velocities_to_world(torch.cat([velocity, torch.zeros_like(velocity[:, :1])], dim=-1))
    return apply_haze(scene.params, colour, distance), world_velocity


def _shade_sky(
    scene: LandscapeScene, dome_points: torch.Tensor, time_frames: float, pixel_angle: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sky and clouds at world points [N, 3] on the dome, and their velocity (the clouds' rotation)."""
    directions = scene.directions_to_scene(dome_points / DOME_RADIUS)
    omega = torch.tensor(scene.params.cloud_angular_velocity, dtype=torch.float32, device=dome_points.device)
    texture_directions = _rotate(directions, omega, -time_frames)
    cloud, opacity = cloud_layer(scene, texture_directions, torch.full_like(directions[:, 0], pixel_angle))
    colour = sky_colour(scene.params, directions)
    colour = colour + (cloud - colour) * opacity[:, None]
    velocity = torch.cross(scene.cloud_angular_velocity().expand_as(dome_points), dome_points, dim=-1)
    return colour, velocity


def _pose_tensor(camera_to_world: torch.Tensor | np.ndarray, device: torch.device) -> torch.Tensor:
    """A camera-to-world matrix as a float32 tensor on `device`."""
    if isinstance(camera_to_world, torch.Tensor):
        return camera_to_world.to(device=device, dtype=torch.float32)
    return torch.as_tensor(np.asarray(camera_to_world, dtype=np.float32), device=device)


def _rotate(vectors: torch.Tensor, omega: torch.Tensor, time_frames: float) -> torch.Tensor:
    """Rotate vectors [N, 3] about the axis of `omega` [3] by |omega| * time (Rodrigues' formula)."""
    angle = float(torch.linalg.norm(omega)) * time_frames
    if angle == 0.0:
        return vectors
    axis = omega / torch.linalg.norm(omega)
    cos, sin = math.cos(angle), math.sin(angle)
    cross = torch.cross(axis.expand_as(vectors), vectors, dim=-1)
    along = (vectors @ axis)[:, None] * axis
    return vectors * cos + cross * sin + along * (1.0 - cos)
