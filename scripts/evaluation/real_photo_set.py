"""The real-photo set: freely licensed landscape photos with hand-drawn sky and water (`scripts/real_photos`).

Each photo `NAME.jpg` has its annotation `NAME.labels.json` (labelme polygons labelled `sky`, `water`, `fog` and
`solid`, see `scripts/real_photos/README.md`) and its tags in the annotation's image flags. The masks are drawn at
the resolution the synthesis works at, so that they compare pixel for pixel with what the detectors find.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mom_nerfstudio.synthesis.image_io import load_image

REAL_PHOTOS = Path(__file__).resolve().parent.parent / "real_photos"
"""The folder of the set."""

LABELS_SUFFIX = ".labels.json"
"""An annotation's name is its photo's stem plus this (never `NAME.json`, which mom4d reads as a motion annotation)."""

REGION_LABELS = ("sky", "water", "fog")
"""The labels of regions; `solid` cuts holes into them."""

SUPERSAMPLING = 4
"""Polygons are filled on a canvas this many times finer than the mask, then averaged down."""


@dataclass(frozen=True)
class AnnotatedPhoto:
    """A real photo at the working resolution with its true regions."""

    name: str
    path: Path
    rgb: np.ndarray
    """float32 HxWx3 in [0, 1], loaded as the synthesis loads it."""
    sky: np.ndarray
    """bool HxW: the sky (clouds included)."""
    water: np.ndarray
    """bool HxW: every water surface."""
    fog: np.ndarray
    """bool HxW: fog or mist over the ground, which may drift."""
    tags: tuple[str, ...]

    @property
    def still(self) -> np.ndarray:
        """bool HxW: what must never move (neither sky, nor water, nor fog)."""
        return ~(self.sky | self.water | self.fog)

    @property
    def moving(self) -> np.ndarray:
        """bool HxW: what a viewer expects to move (sky and water; fog may move but need not)."""
        return self.sky | self.water

    @property
    def has_fluid(self) -> bool:
        """Whether the photo shows clouds or water, which must visibly move."""
        return "clouds" in self.tags or bool(self.water.any())


def annotation_path(photo: Path) -> Path:
    """The annotation of `photo` (`NAME.jpg` -> `NAME.labels.json`)."""
    return photo.with_name(photo.stem + LABELS_SUFFIX)


def photos_in(folder: Path = REAL_PHOTOS) -> list[Path]:
    """The annotated photos of `folder`, sorted by name."""
    return sorted(path for path in folder.glob("*.jpg") if annotation_path(path).is_file())


def load_annotated_photo(photo: Path, max_resolution: int = 1024) -> AnnotatedPhoto:
    """`photo` loaded at `max_resolution` (long side) with its regions drawn at that size."""
    image = load_image(photo, max_resolution=max_resolution)
    document = json.loads(annotation_path(photo).read_text())
    shape = image.rgb.shape[:2]
    scale = (shape[1] / float(document["imageWidth"]), shape[0] / float(document["imageHeight"]))
    masks = region_masks(document["shapes"], shape, scale)
    tags = tuple(sorted(flag for flag, on in (document.get("flags") or {}).items() if on))
    return AnnotatedPhoto(photo.stem, photo, image.rgb, masks["sky"], masks["water"], masks["fog"], tags)


def region_masks(shapes: list[dict], shape: tuple[int, int], scale: tuple[float, float]) -> dict[str, np.ndarray]:
    """The bool masks of REGION_LABELS from labelme `shapes` (coordinates times `scale` (x, y) give mask pixels).

    `solid` is removed from every region; the sky wins over fog and water, fog over water.
    """
    drawn = {
        label: _fill([s for s in shapes if s["label"] == label], shape, scale) for label in (*REGION_LABELS, "solid")
    }
    sky = drawn["sky"] & ~drawn["solid"]
    fog = drawn["fog"] & ~drawn["solid"] & ~sky
    water = drawn["water"] & ~drawn["solid"] & ~sky & ~fog
    return {"sky": sky, "water": water, "fog": fog}


def _fill(shapes: list[dict], shape: tuple[int, int], scale: tuple[float, float]) -> np.ndarray:
    """The pixels that the polygons of `shapes` cover at least half of."""
    height, width = shape
    canvas = np.zeros((height * SUPERSAMPLING, width * SUPERSAMPLING), dtype=np.uint8)
    factor = np.array(scale) * SUPERSAMPLING
    polygons = [np.round(np.asarray(s["points"], dtype=np.float64) * factor).astype(np.int32) for s in shapes]
    if polygons:
        cv2.fillPoly(canvas, [polygon.reshape(-1, 1, 2) for polygon in polygons], 255)
    coverage = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)
    return coverage >= 128
