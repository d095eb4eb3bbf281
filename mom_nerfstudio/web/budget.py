"""Keeping a web scene within its size budget: what is given up, in order, when it does not fit.

First the moving Gaussians' per-pose rotations and scales (they keep their rest shape, and move), then the still
Gaussians of lowest opacity, as few as it takes. A scene whose moving Gaussians alone do not fit is refused, naming
the options that make it smaller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.web.bake import BakedLoop
from mom_nerfstudio.web.format import encoded_size, loop_size

MEGABYTE = 1_000_000


@dataclass
class Fitted:
    """A loop within the budget, and what was given up for it (one sentence each, for the log)."""

    loop: BakedLoop
    given_up: list[str] = field(default_factory=list)


def fit_to_budget(loop: BakedLoop, max_bytes: int) -> Fitted:
    """`loop`, made to fit `max_bytes` of scene data (see the module docstring)."""
    fitted = Fitted(loop)
    if loop_size(loop) <= max_bytes:
        return fitted
    if loop.pose_quats is not None:
        before = loop_size(loop)
        loop = loop.without_pose_shapes()
        fitted.given_up.append(
            f"the moving Gaussians' per-frame rotations and scales ({(before - loop_size(loop)) / MEGABYTE:.1f} MB; "
            "they keep their rest shape)"
        )
        if loop_size(loop) <= max_bytes:
            fitted.loop = loop
            return fitted
    poses = len(loop.pose_frames)
    floor = encoded_size(loop.moving, loop.moving, poses, False)
    if floor > max_bytes:
        raise Mom4dInputError(
            f"The scene's {loop.moving} moving Gaussians over {poses} poses need {floor / MEGABYTE:.1f} MB, more than "
            f"the budget of {max_bytes / MEGABYTE:.1f} MB; raise --max-megabytes or store fewer poses with a larger "
            "--frame-step."
        )
    # The most still Gaussians that fit (the size grows with their count).
    low, high = 0, loop.still
    while low < high:
        middle = (low + high + 1) // 2
        if encoded_size(loop.moving + middle, loop.moving, poses, False) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    keep_count = low
    order = np.argsort(-loop.opacities[loop.moving :], kind="stable")
    keep = np.zeros(loop.still, dtype=bool)
    keep[order[:keep_count]] = True
    dropped = loop.still - keep_count
    highest_dropped = float(loop.opacities[loop.moving :][order[keep_count]])
    fitted.given_up.append(
        f"{dropped} of {loop.still} still Gaussians, those of lowest opacity (at most {highest_dropped:.3f})"
    )
    fitted.loop = loop.keeping_still(keep)
    return fitted
