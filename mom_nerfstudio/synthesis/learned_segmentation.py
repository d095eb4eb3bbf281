"""Learned sky and water segmentation: a semantic segmentation model trained on ADE20K, through transformers.

An alternative to the colour and texture heuristics of `mom_nerfstudio.synthesis.segmentation`, which know nothing of what
water is and can take a wooden pier or pale stratified rock for it. Any `AutoModelForSemanticSegmentation` of the
accepted types (SegFormer, UperNet) whose image processor resizes the whole photo works; its labels are read from
the model config's `id2label`, so any ADE20K-style label set does:
- sky: the label "sky" (COCO-Stuff's "sky-other" too);
- water: "water", "sea", "river", "lake", "waterfall" (or "falls"), "swimming pool" and "pond".
  ADE20K's "fountain" (mostly stone) and "pier" are not water.
Labels are compared in lower case, each comma-separated synonym on its own ("waterfall, falls"), with hyphens and
underscores read as spaces and a trailing "other" dropped.

The model's class probabilities are merged into three scores per pixel: sky (the sum over the sky labels), water
(the sum over the water labels), and anything else (the most probable other label). Summing the group matters:
a river the model splits between "water" and "river" is still water where neither alone beats "rock". The three
scores are computed at the model's output resolution, scaled bilinearly to the photo's size, and each pixel takes
the highest; so sky and water never overlap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger
from mom_nerfstudio.synthesis.image_io import to_uint8
from mom_nerfstudio.synthesis.learned.loading import (
    ModelSpec,
    gpu_memory_guard,
    load_model,
    transformers_loader,
)

DEFAULT_SEGMENTATION_MODEL = "nvidia/segformer-b5-finetuned-ade-640-640"
"""SegFormer-B5 fine-tuned on ADE20K at 640 px (85M parameters, 51 mIoU)."""
SMALL_SEGMENTATION_MODEL = "nvidia/segformer-b0-finetuned-ade-512-512"
"""SegFormer-B0 fine-tuned on ADE20K at 512 px (3.8M parameters, 37 mIoU)."""
SEGMENTATION_MODEL_TYPES = ("segformer", "upernet")
"""The transformers `model_type`s accepted: models whose output is per-class logits over the resized photo."""

SKY_LABELS = frozenset({"sky"})
WATER_LABELS = frozenset({"water", "sea", "river", "lake", "waterfall", "falls", "swimming pool", "pond"})

_OTHER, _SKY, _WATER = 0, 1, 2
"""Rows of the merged score map."""

_load_segmentation_model = transformers_loader("AutoModelForSemanticSegmentation")


def learned_segmentation_model(model: str | None = None) -> ModelSpec:
    """The segmentation model to use: `model` (hub id or folder), or DEFAULT_SEGMENTATION_MODEL."""
    return ModelSpec(
        reference=model or DEFAULT_SEGMENTATION_MODEL,
        library="transformers",
        kinds=SEGMENTATION_MODEL_TYPES,
        description="semantic segmentation model",
        option="--segmentation-model",
        example=DEFAULT_SEGMENTATION_MODEL,
        alternative="--segmentation heuristic",
        lighter=f"the small model {SMALL_SEGMENTATION_MODEL}",
    )


def label_synonyms(label: str) -> set[str]:
    """The normalised names a label stands for: 'Waterfall, falls' -> {'waterfall', 'falls'}, 'sky-other' -> {'sky'}."""
    names = set()
    for synonym in label.lower().replace("-", " ").replace("_", " ").split(","):
        words = synonym.split()
        if len(words) > 1 and words[-1] == "other":
            words = words[:-1]
        if words:
            names.add(" ".join(words))
    return names


@dataclass(frozen=True)
class SkyWaterClasses:
    """Which class indices of a model are sky and which are water."""

    sky: tuple[int, ...]
    water: tuple[int, ...]

    @classmethod
    def from_labels(cls, id2label: Mapping[int | str, str]) -> SkyWaterClasses:
        """Read the classes from a model config's `id2label`; either group may be empty."""
        sky, water = [], []
        for index, label in id2label.items():
            names = label_synonyms(label)
            if names & SKY_LABELS:
                sky.append(int(index))
            elif names & WATER_LABELS:
                water.append(int(index))
        return cls(tuple(sorted(sky)), tuple(sorted(water)))


def classes_of_model(spec: ModelSpec, id2label: Mapping[int | str, str]) -> SkyWaterClasses:
    """The sky and water classes of the model of `spec`; Mom4dInputError when it has neither."""
    classes = SkyWaterClasses.from_labels(id2label)
    if not classes.sky and not classes.water:
        examples = ", ".join(repr(label) for label in list(id2label.values())[:8])
        raise Mom4dInputError(
            f"The {spec.description} {spec.reference} ({spec.option}) has no sky or water class among its "
            f"{len(id2label)} labels ({examples}, ...). Pass a model trained on ADE20K such as "
            f"{DEFAULT_SEGMENTATION_MODEL}, or use {spec.alternative}."
        )
    for group, found in (("sky", classes.sky), ("water", classes.water)):
        if not found:
            logger.warning(f"The {spec.description} {spec.reference} has no {group} class: it will find no {group}.")
    return classes


def merged_scores(logits: torch.Tensor, classes: SkyWaterClasses) -> torch.Tensor:
    """Scores [3, h, w] (other, sky, water) from a model's logits [C, h, w]: class probabilities summed per group,
    and the most probable other class."""
    probabilities = logits.float().softmax(dim=0)
    scores = torch.zeros((3, *probabilities.shape[1:]), dtype=probabilities.dtype, device=probabilities.device)
    scores[_SKY] = probabilities[list(classes.sky)].sum(dim=0)
    scores[_WATER] = probabilities[list(classes.water)].sum(dim=0)
    others = torch.ones(len(probabilities), dtype=torch.bool, device=probabilities.device)
    others[list(classes.sky + classes.water)] = False
    if others.any():
        scores[_OTHER] = probabilities[others].amax(dim=0)
    return scores


def masks_from_scores(scores: torch.Tensor, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Bool masks (sky, water) at `size` (height, width) from merged scores [3, h, w] scaled bilinearly."""
    resized = F.interpolate(scores[None], size=size, mode="bilinear", align_corners=False)[0]
    winner = resized.argmax(dim=0).cpu().numpy()
    return winner == _SKY, winner == _WATER


@dataclass(frozen=True)
class LearnedSkyWaterSegmenter:
    """Sky and water of a photo from a semantic segmentation model, loaded at the first call."""

    model: ModelSpec
    device: torch.device

    def segment(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bool HxW masks (sky, water) of `rgb` (float32 HxWx3 in [0, 1]), at its size; they never overlap."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"segment needs an HxWx3 image, got shape {rgb.shape}")
        loaded = load_model(self.model, self.device, _load_segmentation_model)
        classes = classes_of_model(self.model, loaded.model.config.id2label)
        height, width = rgb.shape[:2]
        pixels = to_uint8(rgb)
        inputs = loaded.processor(images=pixels, return_tensors="pt")
        pixel_values = inputs["pixel_values"].to(self.device, loaded.model.dtype)
        with torch.inference_mode(), gpu_memory_guard(self.model, f"segmenting a {width}x{height} photo"):
            logits = loaded.model(pixel_values=pixel_values).logits[0]
            return masks_from_scores(merged_scores(logits, classes), (height, width))
