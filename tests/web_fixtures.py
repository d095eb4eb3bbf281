"""A tiny model to export as a web page, the camera it was seeded from, and a residual deformation that turns and
scales its moving Gaussians (a fresh model's residual is zero)."""

from __future__ import annotations

import numpy as np
import torch
from model_fixtures import FOCAL, IMAGE_SIZE, seed_metadata, tiny_model

from mom_nerfstudio.model import Mom4dModel
from mom_nerfstudio.web.camera import WebCamera

PIVOT_DEPTH = 2.0
"""The seeds' depth."""


def seed_camera() -> WebCamera:
    """`model_fixtures.input_camera` as the page's camera."""
    height, width = IMAGE_SIZE
    camera_to_world = np.eye(4)
    camera_to_world[:3, :4] = [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
    return WebCamera(camera_to_world, FOCAL, FOCAL, width / 2, height / 2, width, height, PIVOT_DEPTH)


def textured_model(loop_blend: str = "contrast-preserving") -> Mom4dModel:
    """The tiny model with random seed colours and small footprints: mid-loop, its moving half shows two shifted copies
    of a fine texture, which the contrast-preserving blend keeps as contrasted as either copy."""
    metadata = seed_metadata()
    generator = torch.Generator().manual_seed(0)
    metadata["points3D_rgb"] = torch.randint(0, 256, metadata["points3D_rgb"].shape, generator=generator).to(
        torch.uint8
    )
    metadata["points3D_footprint"] = metadata["points3D_footprint"] * 0.4
    metadata["loop_blend"] = loop_blend
    return tiny_model(metadata)


def deforming_model() -> Mom4dModel:
    """The tiny model with a residual deformation that moves, turns and scales its moving Gaussians over the loop."""
    model = tiny_model()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.deformation.parameters():
            parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator))
    return model
