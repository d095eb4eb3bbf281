"""Stable Diffusion inpainting of a view's holes, through diffusers' `StableDiffusionInpaintPipeline`.

A view is inpainted at the model's native resolution (512 px on the long side for Stable Diffusion 1.5 and 2
inpainting) with the view's aspect ratio, and the result is scaled back. Only the hole pixels are taken from it:
what the point cloud showed stays exactly as it was. The mask given to the model is the holes grown by a few
pixels, so that the model repaints the ragged splat border around them and its fill meets the seen content.
Each view gets its own seed (the configured seed plus the view's index), so the result is reproducible.

The pipeline is loaded without its NSFW safety checker: it would replace a whole view by black, silently, which
would then be trained on as the scene's colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from mom_nerfstudio.synthesis.config import (
    DEFAULT_INPAINT_NEGATIVE_PROMPT,
    DEFAULT_INPAINT_PROMPT,
    DEFAULT_INPAINT_STEPS,
)
from mom_nerfstudio.synthesis.learned.loading import (
    ModelSource,
    ModelSpec,
    diffusers_loading_options,
    gpu_memory_guard,
    load_model,
)

DEFAULT_INPAINT_MODEL = "stable-diffusion-v1-5/stable-diffusion-inpainting"
GUIDANCE_SCALE = 7.5
"""Classifier-free guidance: how strongly the fill follows the prompt (diffusers' default)."""
MASK_GROWTH_FRACTION = 0.01
"""The mask given to the model is the holes dilated by this fraction of the processing long side."""


@dataclass(frozen=True)
class DiffusionInpaintSettings:
    """What the user chose about Stable Diffusion inpainting."""

    model: str | None = None
    """Hub id or folder of the inpainting pipeline; None for DEFAULT_INPAINT_MODEL."""
    prompt: str = DEFAULT_INPAINT_PROMPT
    negative_prompt: str = DEFAULT_INPAINT_NEGATIVE_PROMPT
    seed: int = 0
    """Seed of the view with index 0; each view adds its index."""
    steps: int = DEFAULT_INPAINT_STEPS


def diffusion_inpaint_model(model: str | None = None) -> ModelSpec:
    """The Stable Diffusion inpainting model to use: `model` (hub id or folder), or DEFAULT_INPAINT_MODEL."""
    return ModelSpec(
        reference=model or DEFAULT_INPAINT_MODEL,
        library="diffusers",
        kinds=("StableDiffusionInpaintPipeline",),
        description="Stable Diffusion inpainting pipeline",
        option="--inpaint-model",
        example=DEFAULT_INPAINT_MODEL,
        alternative="--inpaint telea",
        lighter="--inpaint telea",
    )


def processing_size(width: int, height: int, native: int) -> tuple[int, int]:
    """(width, height) with the long side `native` and the aspect of `width` x `height`, multiples of 8."""
    scale = native / max(width, height)
    return max(8, round(width * scale / 8) * 8), max(8, round(height * scale / 8) * 8)


def _load_pipeline(source: ModelSource) -> Any:
    from diffusers import StableDiffusionInpaintPipeline

    pipeline = StableDiffusionInpaintPipeline.from_pretrained(
        source.path_or_id, safety_checker=None, requires_safety_checker=False, **diffusers_loading_options(source)
    )
    pipeline.set_progress_bar_config(disable=True)
    return pipeline.to(source.device)


class DiffusionInpainter:
    """Fills the holes of views with a Stable Diffusion inpainting pipeline, loaded at the first fill."""

    def __init__(self, settings: DiffusionInpaintSettings, device: torch.device) -> None:
        self.settings = settings
        self.model = diffusion_inpaint_model(settings.model)
        self.device = device

    def __call__(self, rgb: np.ndarray, holes: np.ndarray, view_index: int) -> np.ndarray:
        """`rgb` (float32 HxWx3 in [0, 1]) with its `holes` (bool HxW) painted in; other pixels are unchanged."""
        if not holes.any():
            return rgb
        pipeline = load_model(self.model, self.device, _load_pipeline)
        height, width = holes.shape
        native = pipeline.unet.config.sample_size * pipeline.vae_scale_factor
        size = processing_size(width, height, native)
        image = cv2.resize(rgb.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        mask = self._model_mask(holes, size)
        generator = torch.Generator().manual_seed(self.settings.seed + view_index)
        with torch.inference_mode(), gpu_memory_guard(self.model, f"inpainting a {size[0]}x{size[1]} view"):
            output = pipeline(
                prompt=self.settings.prompt,
                negative_prompt=self.settings.negative_prompt or None,
                image=image[None],
                mask_image=mask[None, :, :, None],
                height=size[1],
                width=size[0],
                num_inference_steps=self.settings.steps,
                guidance_scale=GUIDANCE_SCALE,
                generator=generator,
                output_type="np",
            )
        painted = cv2.resize(np.asarray(output.images[0], np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
        return np.where(holes[..., None], np.clip(painted, 0.0, 1.0), rgb).astype(np.float32)

    @staticmethod
    def _model_mask(holes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """The holes at the processing `size` (any hole in a pixel counts), grown so the fill blends in."""
        mask = cv2.resize(holes.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.0
        growth = max(1, round(MASK_GROWTH_FRACTION * max(size)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * growth + 1, 2 * growth + 1))
        return cv2.dilate(mask.astype(np.uint8), kernel).astype(np.float32)
