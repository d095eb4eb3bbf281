"""How much of a synthesised loop a viewer sees move: the input view at t = 0 against t = 0.5.

A pixel visibly moves when its colour changes by more than VISIBLE_CHANGE (mean over the channels, colours in
[0, 1]) between the loop's first frame and its middle one. The loop is the one the synthesis writes into the
dataset for the input view (the photo's points splatted forward and backward along their paths and blended), made
from the photo alone: the photo is given to the synthesis without any annotation.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VISIBLE_CHANGE = 0.05
"""A pixel visibly moves when its colour changes by more than this (mean absolute change over RGB in [0, 1])."""


@dataclass(frozen=True)
class LoopChange:
    """The input view's loop at its start and its middle, and what changed between them."""

    first: np.ndarray
    """float32 HxWx3 in [0, 1]: the loop's frame 0."""
    middle: np.ndarray
    """float32 HxWx3 in [0, 1]: the loop's frame N / 2."""
    motion_mask: np.ndarray
    """bool HxW: what the synthesis animated."""

    @property
    def change(self) -> np.ndarray:
        """float32 HxW: mean absolute colour change per pixel."""
        return np.abs(self.middle - self.first).mean(axis=2)

    @property
    def visible(self) -> np.ndarray:
        """bool HxW: the pixels that visibly move."""
        return self.change > VISIBLE_CHANGE


def visible_share(visible: np.ndarray, region: np.ndarray | None = None) -> float:
    """Share of `region` (the whole image when None) whose pixels visibly move; 0 for an empty region."""
    if region is None:
        return float(visible.mean())
    count = int(np.count_nonzero(region))
    return 0.0 if count == 0 else float(np.count_nonzero(visible & region) / count)


def input_view_loop_change(photo: Path, max_resolution: int, num_frames: int = 60) -> LoopChange:
    """Synthesise `photo` (a copy of it alone, so no annotation beside it is read) at `max_resolution` with the
    default options and return its input view's loop at t = 0 and t = 0.5."""
    from mom_nerfstudio.synthesis.config import SynthesisConfig
    from mom_nerfstudio.synthesis.runner import SceneSynthesis

    with tempfile.TemporaryDirectory() as folder:
        alone = Path(folder) / f"photo{photo.suffix}"
        shutil.copyfile(photo, alone)
        config = SynthesisConfig(
            max_resolution=max_resolution, num_frames=num_frames, cache_dir=Path(folder) / "cache", device="auto"
        )
        synthesis = SceneSynthesis(alone, config)
        try:
            from mom_nerfstudio.synthesis.stages.dataset import velocity_of
        except ImportError:  # a checkout from before the stages received their inputs (`--code` of a benchmark)
            return _loop_change_of_runner(synthesis, num_frames)
        from mom_nerfstudio.synthesis.stages.dataset import looping_view

        scene, views = synthesis.scene, synthesis.result("views")
        first = views["rgb"][0].astype(np.float32) / 255.0
        if not scene.moving.any():
            return LoopChange(first, first, scene.motion.mask)
        velocity = velocity_of(scene, synthesis.result("motion3d"))
        frame = looping_view(config, scene, views, 0, velocity).frame(num_frames // 2)
        return _loop_change(first, frame, scene.motion.mask)


def _loop_change_of_runner(synthesis, num_frames: int) -> LoopChange:
    """The same, for a synthesis whose stages read everything off the runner."""
    from mom_nerfstudio.synthesis.stages.dataset import looping_view, motion_paths

    first = synthesis.view_arrays["rgb"][0].astype(np.float32) / 255.0
    mask = synthesis.motion_input.mask
    if not synthesis.moving.any():
        return LoopChange(first, first, mask)
    return _loop_change(first, looping_view(synthesis, 0, motion_paths(synthesis)).frame(num_frames // 2), mask)


def _loop_change(first: np.ndarray, frame, mask: np.ndarray) -> LoopChange:
    """The loop's change from its first frame to the rendered `frame` (what the frame does not cover keeps `first`)."""
    from mom_nerfstudio.synthesis.point_features import COVERAGE_THRESHOLD, RGB

    covered = (frame.coverage >= COVERAGE_THRESHOLD).cpu().numpy()
    middle = np.where(covered[..., None], frame.features[..., RGB].clamp(0, 1).cpu().numpy(), first)
    return LoopChange(first, middle.astype(np.float32), mask)
