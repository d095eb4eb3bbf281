"""The `mom4d-data` DataParser: reads a synthesised mom4d dataset and hands its frames to nerfstudio with their times.

The dataset is the run's own copy (`--dataset`, which `ns-train mom4d` sets when it starts: see
`mom_nerfstudio.method_config`), or the one the synthesis cache holds for `--data photo.jpg` with these options,
found by its key (`mom_nerfstudio.synthesis.keys`; `mom4d-synthesize` makes it). The parser never synthesises: it
only reads, in the dataset format (`dataparsers.dataset_format`). Its options are the synthesis's, so that
`ns-train mom4d ... mom4d-data --<option>` sets them for the synthesis that gives the run its dataset.

This module must not import nerfstudio's datamanagers (or the method config): nerfstudio imports the
registered dataparsers while its own datamanager module is still initialising.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import torch
from nerfstudio.cameras.cameras import Cameras, CameraType
from nerfstudio.data.dataparsers.base_dataparser import (
    DataParser,
    DataParserConfig,
    DataparserOutputs,
)
from nerfstudio.data.scene_box import SceneBox
from nerfstudio.plugins.registry_dataparser import DataParserSpecification

from dataparsers.dataset_format import SynthesizedDataset, scene_metadata
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.keys import cached_dataset


@dataclass
class Mom4dDataParserConfig(DataParserConfig, SynthesisConfig):
    """A multi-view looping video synthesised from one landscape photo (`--data photo.jpg`)."""

    _target: type = field(default_factory=lambda: Mom4dDataParser)
    data: Path = Path("photo.jpg")
    """The landscape photo (jpg, png, webp or tiff)."""
    dataset: Optional[Path] = None
    """A synthesised dataset folder to read (holding transforms.json); `ns-train mom4d` sets it to the run's own copy.
    Default: the dataset the synthesis cache holds for --data with these options."""
    eval_views: Literal["input", "all"] = "input"
    """Images used for evaluation: the input view's frames, or every image."""
    static_views_only: bool = False
    """Hand over only the static views at t = 0 (for static methods such as splatfacto)."""


class Mom4dDataParser(DataParser):
    """Reads the dataset and hands the frames to nerfstudio with their times, and the seeds to the model."""

    config: Mom4dDataParserConfig
    includes_time = True

    def __init__(self, config: Mom4dDataParserConfig) -> None:
        super().__init__(config=config)
        self._dataset: SynthesizedDataset | None = None

    def dataset(self) -> SynthesizedDataset:
        """The dataset this parser reads (read once per process)."""
        if self._dataset is None:
            if self.config.dataset is not None:
                self._dataset = SynthesizedDataset.read(self.config.dataset)
            else:
                self._dataset = cached_dataset(self.config.data, self.config)
        return self._dataset

    def _generate_dataparser_outputs(self, split: str = "train", **kwargs) -> DataparserOutputs:
        dataset = self.dataset()
        transforms = dataset.transforms
        frames = transforms["frames"]
        if self.config.static_views_only:
            frames = [frame for frame in frames if frame["frame"] == 0]
        if split != "train" and self.config.eval_views == "input":
            frames = dataset.frames_of(dataset.input_view)
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
        metadata = {
            **scene_metadata(dataset),
            "confidence_filenames": [dataset.folder / frame["mask_path"] for frame in frames],
        }
        xyz = metadata["points3D_xyz"]
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
