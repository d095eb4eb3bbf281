"""What moves in the photo and how: the motion input every source (an annotation, a flow, the automatic default)
resolves to, at the working resolution, and where a photo's annotation lies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


def annotation_path(image_path: Path) -> Path:
    """Where the labelme annotation of a photo is looked for: beside it, with its name (`photo.jpg` -> `photo.json`)."""
    return Path(image_path).with_suffix(".json")


@dataclass(frozen=True)
class AutomaticSpeeds:
    """How far the automatic motion carries each region over one loop, as a share of the frame."""

    sky_drift: float
    """Clouds drift right by this share of the frame's width per loop."""
    water_flow: float
    """Rippled water flows down the image by this share of the frame's height per loop."""
    calm_ripple: float
    """Calm water sways sideways by up to this share of the frame's width per loop."""

    def fastest(self, shape: tuple[int, int], num_frames: int) -> float:
        """The fastest of the speeds in pixels per frame, for an image of `shape` and a loop of `num_frames`."""
        height, width = shape
        return max(self.sky_drift * width, self.water_flow * height, self.calm_ripple * width) / num_frames


@dataclass(frozen=True, eq=False)
class MovingRegion:
    """A region the automatic motion animates, for the log and the previews."""

    name: str
    """What it is ("sky", "flowing water", "calm water")."""
    mask: np.ndarray
    """bool HxW."""
    direction: str
    """How it moves, in words ("drifts right")."""
    share_per_loop: float
    """How far it moves over one loop, as a share of the frame (width or height, as its direction goes)."""
    speed: float
    """Its peak speed in working pixels per frame."""

    def describe(self) -> str:
        """The region in words: "sky, 41.2 % of the frame, drifts right 8 % of the frame per loop (1.37 px/frame)"."""
        return (
            f"{self.name}, {100 * self.mask.mean():.1f} % of the frame, {self.direction} "
            f"{100 * self.share_per_loop:g} % of the frame per loop ({self.speed:.2f} px/frame)"
        )


@dataclass(frozen=True, eq=False)
class MotionInput:
    """What moves and how, at the working resolution.

    The motion is either sparse (a mask plus hint arrows, spread into a dense field later) or dense
    (`flow`, with the mask marking where it is non-zero). A static scene has an empty mask and no hints.
    """

    mask: np.ndarray  # bool HxW at working resolution: True where things move
    hint_starts: np.ndarray  # (K, 2) float32 (x, y) in working pixels
    hint_velocities: np.ndarray  # (K, 2) float32 (dx, dy) in working pixels per frame
    flow: np.ndarray | None  # HxWx2 float32 working pixels per frame, when the motion came as a dense field
    source: str  # human-readable, e.g. "labelme annotation photo.json", "automatic (sky, water)"
    regions: tuple[MovingRegion, ...] = ()
    """The named regions of the automatic motion (none for a motion the user gave)."""

    @property
    def is_static(self) -> bool:
        """True when nothing moves."""
        return not self.mask.any()

    @classmethod
    def static(cls, shape: tuple[int, int], source: str) -> MotionInput:
        """A scene where nothing moves, for an image of `shape` (height, width)."""
        return cls(
            mask=np.zeros(shape, dtype=bool),
            hint_starts=np.zeros((0, 2), dtype=np.float32),
            hint_velocities=np.zeros((0, 2), dtype=np.float32),
            flow=None,
            source=source,
        )
