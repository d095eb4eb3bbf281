"""Colours of the synthetic landscape: terrain materials, flowing water, sky and clouds, and aerial haze.

Every function takes points already found by the ray marcher and returns RGB in [0, 1]. Textures are
procedural noise filtered to each sample's footprint, so that they stay sharp near the camera and do not alias
far away. Only the water's and the clouds' texture coordinates depend on time.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from evaluation.synthetic_noise import smoothstep
from evaluation.synthetic_scene import LandscapeScene, water_carving

if TYPE_CHECKING:
    from evaluation.synthetic_landscape import LandscapeParams

CLOUD_HORIZON_OFFSET = 0.12
"""Clouds are painted on the plane z = 1 above the dome's centre, seen through directions (x, y, z + offset): the
offset keeps the texture finite at the horizon while clouds still crowd together towards it."""

_HORIZON = (0.70, 0.79, 0.88)
"""The sky at the horizon, also the colour of the aerial haze."""
_ZENITH = (0.16, 0.34, 0.72)
_CLOUD = (0.97, 0.97, 0.98)
_SNOW = (0.93, 0.94, 0.97)
_ROCK = (0.42, 0.39, 0.36)
_SAND = (0.55, 0.48, 0.36)
_DEEP_WATER = (0.09, 0.22, 0.28)
_LIT_WATER = (0.50, 0.64, 0.72)


def _constant(values: tuple[float, float, float], like: torch.Tensor) -> torch.Tensor:
    """A 3-vector on the device and with the dtype of `like`."""
    return torch.tensor(values, dtype=like.dtype, device=like.device)


def _mix(a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """a where weight is 0, b where it is 1; `weight` [...] broadcasts over the colour axis."""
    return a + (b - a) * weight.unsqueeze(-1)


def grass_colour(params: LandscapeParams, like: torch.Tensor) -> torch.Tensor:
    """The grass's base colour: green in spring, straw-yellow as `grass_hue` goes to 1."""
    hue = params.grass_hue
    return _constant((0.22 + 0.28 * hue, 0.38 + 0.04 * hue, 0.12 + 0.04 * hue), like)


def sun_direction(params: LandscapeParams, like: torch.Tensor) -> torch.Tensor:
    """Unit vector towards the sun, in the scene frame."""
    azimuth, elevation = math.radians(params.sun_azimuth_degrees), math.radians(params.sun_elevation_degrees)
    return _constant(
        (math.cos(elevation) * math.sin(azimuth), math.cos(elevation) * math.cos(azimuth), math.sin(elevation)),
        like,
    )


def sky_colour(params: LandscapeParams, directions: torch.Tensor) -> torch.Tensor:
    """The clear sky [..., 3] seen along unit scene directions [..., 3]: pale at the horizon, deep at the zenith."""
    elevation = directions[..., 2].clamp(-1.0, 1.0)
    horizon = _constant(_HORIZON, directions)
    zenith = _constant(_ZENITH, directions)
    sky = _mix(horizon, zenith, 1.0 - torch.exp(-4.0 * elevation.clamp_min(0.0)))
    glow = (directions * sun_direction(params, directions)).sum(-1).clamp_min(0.0) ** 24
    return (sky + 0.35 * glow.unsqueeze(-1)).clamp(0.0, 1.0)


def cloud_layer(
    scene: LandscapeScene, directions: torch.Tensor, pixel_angle: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cloud colour [..., 3] and opacity [...] along unit directions from the dome's centre in the cloud texture's
    frame (the scene frame turned back by the clouds' rotation); `pixel_angle` [...] is the angular footprint."""
    lift = (directions[..., 2] + CLOUD_HORIZON_OFFSET).clamp_min(0.5 * CLOUD_HORIZON_OFFSET)
    plane = directions[..., :2] / lift.unsqueeze(-1)
    # Through the projection a pixel spans pixel_angle / lift across and pixel_angle / lift^2 along the view.
    footprint = pixel_angle / lift**1.5
    noise = scene.textures.clouds(plane, footprint)
    cover = scene.params.cloud_cover
    opacity = smoothstep(0.55 - 1.1 * cover, 0.95 - 1.1 * cover, noise[..., 0])
    opacity = opacity * smoothstep(-0.02, 0.08, directions[..., 2])
    shade = (0.82 + 0.22 * noise[..., 1] + 0.12 * directions[..., 2]).clamp(0.5, 1.05)
    colour = shade.unsqueeze(-1) * _constant(_CLOUD, directions)
    return colour.clamp(0.0, 1.0), opacity


def terrain_colour(
    scene: LandscapeScene, points: torch.Tensor, normals: torch.Tensor, footprint: torch.Tensor
) -> torch.Tensor:
    """Lit terrain colour [..., 3] at scene points [..., 3] with unit normals [..., 3]."""
    params = scene.params
    xy = points[..., :2]
    patches, tint = scene.textures.terrain_patches(xy, footprint).unbind(-1)
    grain, speckle = scene.textures.terrain_detail(xy, footprint).unbind(-1)
    height, steepness = points[..., 2], 1.0 - normals[..., 2]
    relative_height = height / (params.mountain_height + 1e-6)
    tufts = smoothstep(0.35, 0.75, speckle)

    grass = grass_colour(params, points) * (0.8 + 0.4 * patches + 0.45 * grain - 0.3 * tufts).unsqueeze(-1)
    grass = grass + 0.07 * torch.stack([tint, 0.4 * tint, -0.4 * tint], dim=-1)
    rock = _constant(_ROCK, points) * (0.8 + 0.5 * grain + 0.2 * patches - 0.25 * tufts).unsqueeze(-1)
    sand = _constant(_SAND, points) * (0.85 + 0.35 * grain - 0.2 * tufts).unsqueeze(-1)
    snow = _constant(_SNOW, points) * (0.95 + 0.08 * grain).unsqueeze(-1)

    rocky = torch.maximum(
        smoothstep(0.22, 0.4, steepness + 0.15 * patches),
        smoothstep(0.3, 0.55, relative_height + 0.2 * patches),
    )
    snowy = smoothstep(0.6, 0.75, relative_height + 0.15 * patches) * (1.0 - smoothstep(0.45, 0.6, steepness))
    banks = water_carving(params, scene.textures, xy, torch.linalg.norm(xy, dim=-1))
    sandy = smoothstep(0.02, 0.25, banks + 0.1 * grain)

    albedo = _mix(_mix(_mix(grass, rock, rocky), snow, snowy), sand, sandy)
    light = (normals * sun_direction(params, points)).sum(-1).clamp_min(0.0)
    return (albedo * (0.45 + 0.75 * light).unsqueeze(-1)).clamp(0.0, 1.0)


def water_colour(scene: LandscapeScene, texture_coordinates: torch.Tensor, footprint: torch.Tensor) -> torch.Tensor:
    """Water colour [..., 3] at advected texture coordinates [..., 2] (scene units)."""
    ripples, glints = scene.textures.water_ripples(texture_coordinates, footprint).unbind(-1)
    deep = _constant(_DEEP_WATER, texture_coordinates)
    light = _constant(_LIT_WATER, texture_coordinates)
    colour = deep * (0.8 + 0.6 * ripples).unsqueeze(-1)
    return _mix(colour, light, 0.7 * smoothstep(0.2, 0.8, glints + 0.4 * ripples)).clamp(0.0, 1.0)


def apply_haze(params: LandscapeParams, colours: torch.Tensor, distances: torch.Tensor) -> torch.Tensor:
    """Aerial perspective: colours [..., 3] fade towards the horizon's colour over `distances` (scene units)."""
    amount = 1.0 - torch.exp(-distances / params.haze_distance)
    return _mix(colours, _constant(_HORIZON, colours), amount)
