"""Tile the frames rendered along several camera paths into one video (2 x 2 for the four test paths).

    python scripts/path_grid_video.py renders/up_down renders/side renders/zoom_in renders/circle -o paths.mp4

Each argument is a folder of frames written by `ns-render camera-path --output-format images`. Shorter paths
hold their last frame; each tile is labelled with its folder's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import tyro

from mom_nerfstudio.synthesis.previews import contact_sheet, write_video


@dataclass
class PathGridVideo:
    """Tile rendered camera paths into one video."""

    folders: tyro.conf.Positional[list[Path]]
    output: Annotated[Path, tyro.conf.arg(aliases=["-o"])] = Path("paths.mp4")
    tile_width: int = 512
    """Width of each tile in pixels."""
    fps: float = 30.0


def read_frames(folder: Path) -> list[np.ndarray]:
    """The RGB frames of a folder, in name order."""
    files = sorted(path for path in folder.iterdir() if path.suffix.lower() in {".png", ".jpg", ".jpeg"})
    if not files:
        raise SystemExit(f"no frames in {folder}")
    return [cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB) for path in files]


def main(command: PathGridVideo) -> None:
    """Write the tiled video."""
    paths = [read_frames(folder) for folder in command.folders]
    length = max(len(frames) for frames in paths)
    labels = [folder.name for folder in command.folders]
    columns = 2 if len(paths) == 4 else len(paths)

    def tiled(index: int) -> np.ndarray:
        return contact_sheet(
            [frames[min(index, len(frames) - 1)] for frames in paths], columns, labels, tile_width=command.tile_width
        )

    written = write_video(command.output, (tiled(index) for index in range(length)), fps=command.fps)
    print(f"wrote {written} ({length} frames)")


if __name__ == "__main__":
    main(tyro.cli(PathGridVideo))
