"""Data side of the method: per-pixel confidence for the loss, and the static-then-dynamic image schedule."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
from nerfstudio.data.datamanagers.full_images_datamanager import (
    FullImageDatamanager,
    FullImageDatamanagerConfig,
)
from nerfstudio.data.datasets.base_dataset import InputDataset
from PIL import Image


class Mom4dDataset(InputDataset):
    """Images with their confidence map (uint8: 255 seen, 128 filled in, 0 never supervises)."""

    def get_metadata(self, data: dict) -> dict:
        filenames = self.metadata.get("confidence_filenames")
        if filenames is None:
            return {}
        confidence = Image.open(filenames[data["image_idx"]])
        if self.scale_factor != 1.0:
            width, height = confidence.size
            confidence = confidence.resize(
                (int(width * self.scale_factor), int(height * self.scale_factor)), Image.NEAREST
            )
        return {"confidence": torch.from_numpy(np.array(confidence, dtype=np.uint8))[..., None]}


@dataclass
class Mom4dDataManagerConfig(FullImageDatamanagerConfig):
    """Full images, with only the views at t = 0 during the model's static stage."""

    _target: type = field(default_factory=lambda: Mom4dDataManager)


class Mom4dDataManager(FullImageDatamanager[Mom4dDataset]):
    """Serves the static views alone until `static_steps`, then every frame (static views included)."""

    def __init__(self, *args, **kwargs) -> None:
        self.static_steps = 0
        self._in_static_stage = False
        super().__init__(*args, **kwargs)

    def follow_stages(self, static_steps: int) -> None:
        """Serve only the static views for the first `static_steps` iterations (the model's static stage)."""
        self.static_steps = static_steps

    @cached_property
    def cached_train(self) -> list[dict[str, torch.Tensor]]:
        """The training images, with their confidence maps kept where the images are kept (nerfstudio moves only the images)."""
        cache = FullImageDatamanager.cached_train.func(self)  # type: ignore[attr-defined]
        if self.config.cache_images == "gpu":
            for entry in cache:
                if "confidence" in entry:
                    entry["confidence"] = entry["confidence"].to(self.device)
        return cache

    def next_train(self, step: int):
        in_static_stage = step < self.static_steps
        if in_static_stage != self._in_static_stage:
            self._in_static_stage = in_static_stage
            self.train_unseen_cameras = self.sample_train_cameras()
        camera, data = super().next_train(step)
        if "confidence" in data:
            data["confidence"] = data["confidence"].to(self.device, non_blocking=True)
        return camera, data

    def static_image_indices(self) -> list[int]:
        """Training images at t = 0: the static views."""
        times = self.train_dataset.cameras.times
        if times is None:
            return list(range(len(self.train_dataset)))
        return [int(index) for index in torch.nonzero(times.reshape(-1) == 0).reshape(-1)]

    def sample_train_cameras(self) -> list[int]:
        indices = super().sample_train_cameras()
        if self._in_static_stage:
            static = set(self.static_image_indices())
            indices = [index for index in indices if index in static]
        return indices
