"""How much a synthesised loop changes along the sky's border, inside the sky and in still content.

    mom4d-synthesize photo.jpg            # writes outputs/preview/loop.mp4 and the cache beside the photo
    python scripts/loop_border_change.py outputs/preview/loop.mp4 photo_folder/mom4d_cache

Every frame of the loop is compared with its first frame (mean absolute change in 1/255, and the share of pixels
that change by more than 8/255) over three regions of the detected sky (the cache's segmentation stage): a band
across its border, the sky away from the border, and still content away from the sky (what the video codec alone
changes). Moving content that drags the still side's colours along shows as change in the band.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tyro

BAND_PIXELS = 3
"""Half-width of the band across the sky's border."""
AWAY_PIXELS = 7
"""Distance from the border beyond which a pixel counts as away from it."""
CHANGED = 8.0
"""A change above this (in 1/255) counts as a changed pixel."""


@dataclass
class LoopBorderChange:
    """Measure a synthesised loop's change along the sky's border."""

    video: tyro.conf.Positional[Path]
    """The input-view loop (`loop.mp4` of the previews)."""
    cache: tyro.conf.Positional[Path]
    """The photo's cache folder (its segmentation stage gives the sky)."""


def read_frames(video: Path) -> np.ndarray:
    """[F, H, W, 3] float frames of a video."""
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame.astype(np.float32))
    capture.release()
    if not frames:
        raise SystemExit(f"{video}: no frames could be read")
    return np.stack(frames)


def regions(sky: np.ndarray) -> dict[str, np.ndarray]:
    """The border band, the sky away from it and still content away from it, as bool masks of `sky`'s shape."""
    sky = sky.astype(np.uint8)

    def square(radius: int) -> np.ndarray:
        return np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)

    band = cv2.dilate(sky, square(BAND_PIXELS)) > cv2.erode(sky, square(BAND_PIXELS))
    return {
        "border band": band,
        "sky away from the border": cv2.erode(sky, square(AWAY_PIXELS)).astype(bool),
        "still, away from the sky": ~cv2.dilate(sky, square(AWAY_PIXELS)).astype(bool),
    }


def main(measure: LoopBorderChange) -> None:
    """Print the change per region."""
    segmentation = sorted(measure.cache.glob("segmentation-*.npz"))
    if not segmentation:
        raise SystemExit(f"{measure.cache}: no segmentation stage cached there")
    frames = read_frames(measure.video)
    sky = np.load(segmentation[-1])["sky"].astype(np.uint8)
    sky = cv2.resize(sky, (frames.shape[2], frames.shape[1]), interpolation=cv2.INTER_NEAREST)
    change = np.abs(frames[1:] - frames[:1]).mean(axis=-1)
    for name, region in regions(sky).items():
        values = change[:, region]
        print(f"{name}: mean change {values.mean():.2f}/255, {(values > CHANGED).mean():.1%} above {CHANGED:g}/255")


if __name__ == "__main__":
    main(tyro.cli(LoopBorderChange))
