"""Tiny random-weight models, saved like real ones, for testing the learned backends without downloads.

Each builder saves a model with `save_pretrained` into a folder, which the tests then pass where a user passes a
model folder, so the models load through the same code path as real weights. The weights are random: the
outputs mean nothing, but their shapes, types and value kinds are those of the real models.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

TINY_IMAGE_SIZE = 32
"""Side of the square the tiny models' processors resize to (and the Stable Diffusion models' native size)."""


def save_tiny_zoedepth(folder: Path) -> Path:
    """A ZoeDepth model (DINOv2 backbone) with its image processor, saved into `folder`."""
    from transformers import (
        Dinov2Config,
        ZoeDepthConfig,
        ZoeDepthForDepthEstimation,
        ZoeDepthImageProcessor,
    )

    torch.manual_seed(0)
    backbone = _tiny_dinov2(Dinov2Config, patch_size=8)
    config = ZoeDepthConfig(
        backbone_config=backbone,
        neck_hidden_sizes=[4, 4],
        reassemble_factors=[4, 2],
        fusion_hidden_size=8,
        bottleneck_features=8,
        num_out_features=[8, 8, 8, 8],
        bin_embedding_dim=8,
        num_relative_features=8,
    )
    ZoeDepthForDepthEstimation(config).save_pretrained(folder)
    size = {"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE}
    ZoeDepthImageProcessor(size=size, keep_aspect_ratio=True, ensure_multiple_of=8).save_pretrained(folder)
    return folder


def save_tiny_depth_anything(folder: Path, metric: bool = False) -> Path:
    """A Depth Anything model (relative disparity, or metric depth) with its image processor, saved into `folder`."""
    from transformers import (
        DepthAnythingConfig,
        DepthAnythingForDepthEstimation,
        Dinov2Config,
        DPTImageProcessor,
    )

    torch.manual_seed(0)
    config = DepthAnythingConfig(
        backbone_config=_tiny_dinov2(Dinov2Config, patch_size=14),
        patch_size=14,
        reassemble_hidden_size=8,
        neck_hidden_sizes=[4, 8],
        fusion_hidden_size=8,
        head_hidden_size=4,
        depth_estimation_type="metric" if metric else "relative",
    )
    DepthAnythingForDepthEstimation(config).save_pretrained(folder)
    size = {"height": 28, "width": 28}
    DPTImageProcessor(size=size, keep_aspect_ratio=True, ensure_multiple_of=14).save_pretrained(folder)
    return folder


def save_tiny_marigold(folder: Path, prediction_type: str = "depth") -> Path:
    """A Marigold depth pipeline (UNet, VAE, CLIP text encoder and tokenizer, DDIM scheduler), saved into `folder`."""
    from diffusers import DDIMScheduler, MarigoldDepthPipeline

    torch.manual_seed(0)
    tokenizer, text_encoder = _tiny_clip(folder.with_name(folder.name + "-vocabulary"))
    pipeline = MarigoldDepthPipeline(
        unet=_tiny_unet(in_channels=8),
        vae=_tiny_vae(),
        scheduler=DDIMScheduler(timestep_spacing="trailing", steps_offset=1, prediction_type="v_prediction"),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        prediction_type=prediction_type,
        default_denoising_steps=2,
        default_processing_resolution=TINY_IMAGE_SIZE,
    )
    pipeline.save_pretrained(folder)
    return folder


def save_tiny_sd_inpaint(folder: Path) -> Path:
    """A Stable Diffusion inpainting pipeline (9-channel UNet, VAE, CLIP, DDIM), saved into `folder`."""
    from diffusers import DDIMScheduler, StableDiffusionInpaintPipeline

    torch.manual_seed(0)
    tokenizer, text_encoder = _tiny_clip(folder.with_name(folder.name + "-vocabulary"))
    pipeline = StableDiffusionInpaintPipeline(
        unet=_tiny_unet(in_channels=9),
        vae=_tiny_vae(),
        scheduler=DDIMScheduler(steps_offset=1),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder)
    return folder


LANDSCAPE_LABELS = {0: "wall", 1: "sky", 2: "water", 3: "sea, ocean", 4: "rock, stone", 5: "pier, wharf, dock"}
"""A small ADE20K-style label set: sky, two water labels (one with a synonym) and three other classes."""


def save_tiny_segformer(folder: Path, id2label: dict[int, str] = LANDSCAPE_LABELS) -> Path:
    """A SegFormer semantic segmentation model with its image processor, saved into `folder`."""
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    torch.manual_seed(0)
    config = SegformerConfig(
        num_encoder_blocks=2,
        depths=[1, 1],
        sr_ratios=[2, 1],
        hidden_sizes=[8, 16],
        patch_sizes=[7, 3],
        strides=[4, 2],
        num_attention_heads=[1, 2],
        mlp_ratios=[2, 2],
        decoder_hidden_size=8,
        **_label_maps(id2label),
    )
    SegformerForSemanticSegmentation(config).save_pretrained(folder)
    _save_segmentation_processor(folder)
    return folder


def save_tiny_upernet(folder: Path, id2label: dict[int, str] = LANDSCAPE_LABELS) -> Path:
    """An UperNet semantic segmentation model (ConvNeXt backbone) with its image processor, saved into `folder`."""
    from transformers import (
        ConvNextConfig,
        UperNetConfig,
        UperNetForSemanticSegmentation,
    )

    torch.manual_seed(0)
    backbone = ConvNextConfig(num_stages=2, hidden_sizes=[8, 16], depths=[1, 1], out_features=["stage1", "stage2"])
    config = UperNetConfig(
        backbone_config=backbone,
        hidden_size=8,
        pool_scales=[1, 2],
        use_auxiliary_head=False,
        **_label_maps(id2label),
    )
    UperNetForSemanticSegmentation(config).save_pretrained(folder)
    _save_segmentation_processor(folder)
    return folder


def force_class_probabilities(folder: Path, probabilities: dict[int, float]) -> Path:
    """Make the saved segmentation model in `folder` predict `probabilities` (class -> probability) everywhere.

    The classifier's weights are zeroed and its bias set to the log-probabilities, so every pixel's softmax is
    exactly `probabilities`; classes not named get a negligible probability.
    """
    from transformers import AutoModelForSemanticSegmentation

    model = AutoModelForSemanticSegmentation.from_pretrained(folder)
    classifier = model.decode_head.classifier
    bias = torch.full_like(classifier.bias, -30.0)
    for index, probability in probabilities.items():
        bias[index] = float(np.log(probability))
    with torch.no_grad():
        classifier.weight.zero_()
        classifier.bias.copy_(bias)
    model.save_pretrained(folder)
    return folder


def _label_maps(id2label: dict[int, str]) -> dict[str, dict]:
    return {"id2label": id2label, "label2id": {label: index for index, label in id2label.items()}}


def _save_segmentation_processor(folder: Path) -> None:
    from transformers import SegformerImageProcessor

    SegformerImageProcessor(size={"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE}).save_pretrained(folder)


def _tiny_dinov2(config_class: type, patch_size: int):
    return config_class(
        image_size=TINY_IMAGE_SIZE,
        patch_size=patch_size,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=16,
        out_features=["stage1", "stage2"],
        reshape_hidden_states=False,
    )


def _tiny_unet(in_channels: int):
    from diffusers import UNet2DConditionModel

    # Latents of 16 x 16 through a VAE that halves the size: native images of TINY_IMAGE_SIZE pixels.
    return UNet2DConditionModel(
        sample_size=TINY_IMAGE_SIZE // 2,
        in_channels=in_channels,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(8, 8),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=8,
        attention_head_dim=2,
        norm_num_groups=4,
    )


def _tiny_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(8, 8),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=TINY_IMAGE_SIZE,
    )


def _tiny_clip(vocabulary_folder: Path):
    """A CLIP tokenizer over single byte-level characters (no merges) and a one-layer text encoder."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocabulary_folder.mkdir(parents=True, exist_ok=True)
    characters = list(bytes_to_unicode().values())
    tokens = ["<|startoftext|>", "<|endoftext|>", *characters, *(character + "</w>" for character in characters)]
    vocabulary = {token: index for index, token in enumerate(tokens)}
    (vocabulary_folder / "vocab.json").write_text(json.dumps(vocabulary))
    (vocabulary_folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        vocab_file=str(vocabulary_folder / "vocab.json"),
        merges_file=str(vocabulary_folder / "merges.txt"),
        model_max_length=16,
    )
    text_config = CLIPTextConfig(
        vocab_size=len(vocabulary),
        hidden_size=8,
        intermediate_size=16,
        num_attention_heads=2,
        num_hidden_layers=1,
        max_position_embeddings=16,
        projection_dim=8,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
    )
    return tokenizer, CLIPTextModel(text_config)
