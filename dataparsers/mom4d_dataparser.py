"""The `mom4d-data` DataParser: `--data photo.jpg` becomes a multi-view looping video with times.

This module must not import nerfstudio's datamanagers (or the method config): nerfstudio imports the
registered dataparsers while its own datamanager module is still initialising.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Type

import numpy as np
import torch
from nerfstudio.cameras.cameras import Cameras, CameraType
from nerfstudio.data.dataparsers.base_dataparser import DataParser, DataParserConfig, DataparserOutputs
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.plugins.registry_dataparser import DataParserSpecification
from rich.console import Console
from rich.markup import escape

from dataparsers.config import SynthesisConfig
from dataparsers.errors import Mom4dInputError
from dataparsers.input_camera import InputCamera, pivot_depth
from dataparsers.log import setup_logging
from dataparsers.synthesis import SceneSynthesis, SynthesizedDataset

CONSOLE = Console(width=120, stderr=True)


@dataclass
class Mom4dDataParserConfig(DataParserConfig, SynthesisConfig):
    """Synthesise a multi-view looping video from one landscape photo (`--data photo.jpg`)."""

    _target: Type = field(default_factory=lambda: Mom4dDataParser)
    data: Path = Path("photo.jpg")
    """The landscape photo (jpg, png, webp or tiff)."""
    eval_views: Literal["input", "all"] = "input"
    """Images used for evaluation: the input view's frames, or every image."""
    static_views_only: bool = False
    """Hand over only the 25 views at t = 0 (for static methods such as splatfacto)."""


class Mom4dDataParser(DataParser):
    """Runs (or reuses from its cache) the synthesis and hands the frames to nerfstudio with their times."""

    config: Mom4dDataParserConfig
    includes_time = True

    def __init__(self, config: Mom4dDataParserConfig) -> None:
        super().__init__(config=config)
        self._dataset: SynthesizedDataset | None = None

    def synthesized(self) -> SynthesizedDataset:
        """The synthesised dataset, built once per process (and cached on disk across processes)."""
        if self._dataset is None:
            setup_logging()
            try:
                self._dataset = SceneSynthesis(self.config.data, self.config).dataset()
            except Mom4dInputError as error:
                # Escaped: paths and examples in the message may hold [brackets] that rich would read as markup.
                CONSOLE.print(f"[bold red]mom4d: {escape(str(error))}", soft_wrap=True)
                sys.exit(2)
        return self._dataset

    def _generate_dataparser_outputs(self, split: str = "train", **kwargs) -> DataparserOutputs:
        dataset = self.synthesized()
        transforms = dataset.transforms
        frames = transforms["frames"]
        if self.config.static_views_only:
            frames = [frame for frame in frames if frame["frame"] == 0]
        if split != "train" and self.config.eval_views == "input":
            input_view = transforms["mom4d"]["input_view"]
            frames = [frame for frame in frames if frame["view"] == input_view]
        poses = torch.tensor([frame["transform_matrix"] for frame in frames], dtype=torch.float32)[:, :3, :4]
        cameras = Cameras(
            camera_to_worlds=poses,
            fx=float(transforms["fl_x"]),
            fy=float(transforms["fl_y"]),
            cx=float(transforms["cx"]),
            cy=float(transforms["cy"]),
            width=int(transforms["w"]),
            height=int(transforms["h"]),
            camera_type=CameraType.PERSPECTIVE,
            times=torch.tensor([[frame["time"]] for frame in frames], dtype=torch.float32),
        )
        input_camera = InputCamera.from_transforms(transforms)
        with np.load(dataset.folder / "points.npz") as points:
            xyz = torch.from_numpy(points["xyz"])
            metadata = {
                "points3D_xyz": xyz,
                "points3D_rgb": torch.from_numpy(points["rgb"]),
                "points3D_velocity": torch.from_numpy(points["velocity"]),
                "points3D_moving": torch.from_numpy(points["moving"]),
                # Width of the pixel each point was lifted from: depth (the forward axis, y) over the focal length.
                "points3D_footprint": xyz[:, 1] / float(transforms["fl_x"]),
                "num_frames": dataset.num_frames,
                "confidence_filenames": [dataset.folder / frame["mask_path"] for frame in frames],
                "input_camera": input_camera,
                "pivot_depth": pivot_depth(points["xyz"], input_camera),
            }
        return DataparserOutputs(
            image_filenames=[dataset.folder / frame["file_path"] for frame in frames],
            cameras=cameras,
            scene_box=SceneBox(aabb=torch.stack([xyz.min(dim=0).values, xyz.max(dim=0).values])),
            mask_filenames=[dataset.folder / frame["mask_path"] for frame in frames],
            metadata=metadata,
        )


mom4d_dataparser = DataParserSpecification(
    config=Mom4dDataParserConfig(),
    description="mom4d: one landscape photo -> multi-view looping video (depth, views, 3D-MOM motion, loops).",
)
