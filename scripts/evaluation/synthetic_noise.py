"""Seeded fractal noise for the synthetic landscape, evaluated with PyTorch on any device.

A `NoiseLattice` is a periodic square lattice of random values, one set per channel, read between its nodes by
bicubic interpolation (one `grid_sample` call samples every channel). `FractalNoise` sums octaves of one
lattice at halving wavelengths, each octave rotated and shifted so that the lattice's period never shows.
Octaves whose wavelength is too short for the sampling footprint fade out, which is what keeps the textures
free of aliasing at every distance (a mip-map, computed instead of stored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

LATTICE_PERIOD = 256
"""Nodes along each side of a lattice before it repeats."""

_PADDING = 2
"""Bicubic interpolation reads two nodes on each side of a sample."""

_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))
"""Rotation between successive octaves: never lines up with an earlier one."""


@dataclass(frozen=True)
class NoiseLattice:
    """A periodic lattice of random values, `channels` independent ones per node, stored circularly padded."""

    values: torch.Tensor  # [1, channels, period + 4, period + 4]
    period: int

    @classmethod
    def random(cls, generator: torch.Generator, channels: int, period: int = LATTICE_PERIOD) -> NoiseLattice:
        """A lattice of values uniform in [-1, 1] drawn from `generator` (on the CPU, so equal on every device)."""
        nodes = torch.rand((1, channels, period, period), generator=generator) * 2.0 - 1.0
        return cls(values=F.pad(nodes, (_PADDING,) * 4, mode="circular"), period=period)

    @property
    def channels(self) -> int:
        """Independent noise values per sample."""
        return self.values.shape[1]

    def to(self, device: torch.device | str) -> NoiseLattice:
        """The same lattice on `device`."""
        return NoiseLattice(values=self.values.to(device), period=self.period)

    def sample(self, coordinates: torch.Tensor) -> torch.Tensor:
        """Bicubically interpolated values at lattice coordinates [..., 2] (node spacing 1) -> [..., channels]."""
        shape = coordinates.shape[:-1]
        wrapped = torch.remainder(coordinates.reshape(1, 1, -1, 2), self.period) + _PADDING
        # align_corners=True maps -1 and +1 to the first and the last padded node.
        grid = wrapped * (2.0 / (self.period + 2 * _PADDING - 1)) - 1.0
        sampled = F.grid_sample(self.values, grid, mode="bicubic", padding_mode="border", align_corners=True)
        return sampled[0, :, 0].transpose(0, 1).reshape(*shape, self.channels)


@dataclass(frozen=True)
class FractalNoise:
    """A sum of `octaves` octaves of one lattice; octave k has wavelength `wavelength / 2**k`, weight `gain**k`.

    The result has mean 0 and a standard deviation of about 0.5 (more than 99 % of it within [-1.5, 1.5]); octaves
    faded out by a coarse footprint lower its contrast, as a blur would.
    """

    lattice: NoiseLattice
    wavelength: float
    octaves: int
    gain: float = 0.5
    ridged: bool = False
    """Ridged octaves (1 - |n|)^2 * 2 - 1: sharp crests and rounded valleys, for mountains."""

    def to(self, device: torch.device | str) -> FractalNoise:
        """The same noise on `device`."""
        return FractalNoise(self.lattice.to(device), self.wavelength, self.octaves, self.gain, self.ridged)

    def __call__(self, points: torch.Tensor, footprint: torch.Tensor | None = None) -> torch.Tensor:
        """Noise at `points` [..., 2] (scene units) -> [..., channels].

        `footprint` [...] is the size of the area each sample stands for (a pixel seen at that distance, or a
        grid cell): an octave contributes fully when its wavelength spans at least 4 footprints and not at all
        below 2, so that nothing finer than the sampling aliases. Octaves are only evaluated where they count.
        """
        shape = points.shape[:-1]
        points = points.reshape(-1, 2)
        footprint = None if footprint is None else footprint.reshape(-1)
        total = torch.zeros((points.shape[0], self.lattice.channels), device=points.device, dtype=points.dtype)
        for octave in range(self.octaves):
            wavelength = self.wavelength / 2.0**octave
            weight = torch.full_like(points[:, 0], self.gain**octave)
            where = None  # the samples this octave reaches: all, or those whose footprint is fine enough
            if footprint is not None:
                weight = weight * (wavelength / (2.0 * footprint) - 1.0).clamp(0.0, 1.0)
                reached = weight > 0
                if not bool(reached.any()):
                    break  # every sample is too coarse for this octave and the finer ones
                if not bool(reached.all()):
                    where = torch.nonzero(reached).squeeze(-1)
            local_points = points if where is None else points[where]
            angle = octave * _GOLDEN_ANGLE
            cos, sin = math.cos(angle), math.sin(angle)
            x, y = local_points[:, 0] / wavelength, local_points[:, 1] / wavelength
            rotated = torch.stack([cos * x - sin * y + 17.3 * octave, sin * x + cos * y + 41.9 * octave], dim=-1)
            values = self.lattice.sample(rotated)
            if self.ridged:
                values = (1.0 - values.abs()).square() * 2.0 - 1.0
            if where is None:
                total += weight[:, None] * values
            else:
                total.index_add_(0, where, weight[where, None] * values)
        total = total.reshape(*shape, self.lattice.channels)
        return total / math.sqrt(sum(self.gain ** (2 * octave) for octave in range(self.octaves)))


def smoothstep(edge0: float | torch.Tensor, edge1: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """0 below `edge0`, 1 above `edge1`, a smooth cubic in between (edges may be in either order)."""
    s = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0)
    return s * s * (3.0 - 2.0 * s)
