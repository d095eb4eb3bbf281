"""How much of a trained scene's loop visibly moves at the input view: t = 0 against t = 0.5.

    ns-train mom4d-tiny --data photo.jpg --machine.device-type cpu --viewer.quit-on-train-completion True
    python scripts/trained_loop_change.py --load-config outputs/photo/mom4d-tiny/<timestamp>/config.yml

Renders the run's input camera at both times, reports the share of pixels whose colour changes by more than
`evaluation.loop_change.VISIBLE_CHANGE` (the measure the synthesised loops are held to), and writes the two renders
and their difference beside each other (`--picture`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import tyro


@dataclass
class TrainedLoopChange:
    """Measure the visible motion of a trained run's loop at its input view."""

    load_config: Path
    """config.yml of the run."""
    picture: Optional[Path] = None
    """Where to write t = 0, t = 0.5 and their difference side by side."""


def main(check: TrainedLoopChange) -> None:
    """Render, measure, report."""
    from nerfstudio.utils.eval_utils import eval_setup

    from evaluation.evaluate import input_camera
    from evaluation.loop_change import VISIBLE_CHANGE, LoopChange, visible_share
    from evaluation.rendering import render_frames, with_time

    _, pipeline, _, _ = eval_setup(check.load_config, test_mode="test")
    camera = input_camera(pipeline)
    first, middle = (render_frames(pipeline.model, with_time(camera, t))[0] for t in (0.0, 0.5))
    change = LoopChange(first.astype(np.float32), middle.astype(np.float32), np.ones(first.shape[:2], bool))
    result = {
        "config": str(check.load_config),
        "visible_share": visible_share(change.visible),
        "threshold": VISIBLE_CHANGE,
        "mean_change": float(change.change.mean()),
    }
    print(json.dumps(result))
    if check.picture is not None:
        heat = cv2.applyColorMap(np.clip(change.change * 4 * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
        tiles = [
            cv2.cvtColor((np.clip(image, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2BGR) for image in (first, middle)
        ]
        check.picture.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(check.picture), np.concatenate([*tiles, heat], axis=1))


if __name__ == "__main__":
    main(tyro.cli(TrainedLoopChange))
