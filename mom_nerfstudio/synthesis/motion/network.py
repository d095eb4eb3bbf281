"""3D-Cinemagraphy's 2-D motion network (Li et al., CVPR 2023), written for this project, loading its released weights.

The network predicts a view's Eulerian flow from the view's colours, its motion mask and its dense hint field. It
is the motion network of "Controllable Animation of Fluid Elements in Still Images" (Mahapatra and Kulkarni,
CVPR 2022) as 3D-Cinemagraphy releases it: a U-Net of spectrally normalised convolutions whose feature maps are
normalised by SPADE (Park et al., CVPR 2019), i.e. instance-normalised and then scaled and shifted per pixel by
small convolutions of the network's own input. The user supplies the released checkpoint file
(`ckpts/sceneflow_model.pth`, the generator's state dict under `netG`); this module's parameter names and shapes are
those of that state dict, so it loads with `load_state_dict(strict=True)`.

What 3D-Cinemagraphy feeds it (its `demo.py`, and `lib/renderer.py` around the network), and what we do alike:
- the colours, squashed to WORKING_SIZE x WORKING_SIZE (768 x 768) by a bicubic resize, mapped from [0, 1] to
  [-1, 1];
- the motion mask, area-averaged to 768 x 768 (so soft along its border), in [0, 1];
- the dense hint field: the user's arrows as velocities (end - start) / 50 px/frame, spread over the mask by
  Gaussian weights (`mom_nerfstudio.synthesis.motion.fields.dense_hint_field`; 3D-Cinemagraphy draws the Gaussian width at
  random), zero outside the mask, and resized to 768 x 768 with x scaled by 768 / W and y by 768 / H;
- the three stacked in that order: 6 channels (R, G, B, mask, dx, dy).
The network's flow is in pixels per frame of its 768 x 768 grid (the checkpoint's configuration sets its output
factor `div_flow` to 1). 3D-Cinemagraphy multiplies it by the mask, box-blurs it 15 x 15 at 768 x 768, multiplies
by the mask again, and scales it to the photo (x by W / 768, y by H / 768, bilinear resize).
`LearnedViewMotion.predict_view_flow` does the same, with the project's normalised masked blur (`smooth_flow`) in
place of the plain blur, so that the static zeros around the mask do not slow its border down.

3D-Cinemagraphy never switches the network to evaluation mode, so its spectral normalisation does one more power
iteration at every call; we use the singular vectors stored in the checkpoint as they are (evaluation mode).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger
from mom_nerfstudio.synthesis.learned.loading import (
    cached_model,
    file_fingerprint,
    gpu_memory_guard,
)
from mom_nerfstudio.synthesis.motion.fields import resize_flow, smooth_flow

WORKING_SIZE = 768
"""Side of the square the network was trained at (3D-Cinemagraphy's `motionH` = `motionW` = 768); its flow is in
pixels per frame of this grid. The network accepts any multiple of NETWORK_STRIDE."""
NETWORK_STRIDE = 256
"""The eight stride-2 convolutions halve the input eight times."""
FILTERS = 32
"""Channels of the first convolution; the others are multiples of it."""
INPUT_CHANNELS = 6
"""R, G, B in [-1, 1]; motion mask in [0, 1]; hint dx, dy in px/frame of the working grid."""
SPADE_HIDDEN_CHANNELS = 128
BLUR_KERNEL = 15
"""Side of the box blur applied to the flow at the working size."""
CHECKPOINT_KEY = "netG"
"""The entry of the released checkpoint that holds the generator's state dict."""
OPTION = "--motion-model"

_MASK_CHANNEL = 3
"""The input channel that holds the mask: it is resized by nearest neighbour, the others bilinearly."""


# --- the network -------------------------------------------------------------------------------------------------


class SpectralConv2d(nn.Module):
    """A convolution whose weight is divided by its largest singular value, as `torch.nn.utils.spectral_norm` does in
    evaluation mode: sigma = u . (W v), with the power-iteration vectors u, v stored beside the weight.

    The state-dict names are the ones spectral_norm gives (`weight_orig`, `bias`, `weight_u`, `weight_v`).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int) -> None:
        super().__init__()
        self.stride, self.padding = stride, padding
        initial = nn.Conv2d(in_channels, out_channels, kernel_size)  # for torch's default initialisation
        self.weight_orig = nn.Parameter(initial.weight.detach())
        self.bias = nn.Parameter(initial.bias.detach())
        self.register_buffer("weight_u", torch.empty(out_channels))
        self.register_buffer("weight_v", torch.empty(in_channels * kernel_size * kernel_size))
        if not self.weight_orig.is_meta:  # a network built on the meta device only waits for a checkpoint's values
            self.estimate_singular_vectors()

    def estimate_singular_vectors(self) -> None:
        """Set u, v to the singular vectors of the weight's largest singular value (what training converges to)."""
        left, _, right = torch.linalg.svd(self.weight_orig.detach().flatten(1), full_matrices=False)
        self.weight_u.copy_(left[:, 0])
        self.weight_v.copy_(right[0])

    def normalized_weight(self) -> torch.Tensor:
        """The weight divided by its spectral norm as the stored vectors estimate it."""
        sigma = torch.dot(self.weight_u, torch.mv(self.weight_orig.flatten(1), self.weight_v))
        return self.weight_orig / sigma

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.conv2d(features, self.normalized_weight(), self.bias, self.stride, self.padding)


class SpadeNorm(nn.Module):
    """Spatially-adaptive normalisation: instance norm, then a per-pixel scale and shift predicted from a condition."""

    def __init__(self, channels: int, condition_channels: int) -> None:
        super().__init__()
        self.mlp_shared = nn.Sequential(
            nn.Conv2d(condition_channels, SPADE_HIDDEN_CHANNELS, kernel_size=3, padding=1), nn.ReLU()
        )
        self.mlp_gamma = nn.Conv2d(SPADE_HIDDEN_CHANNELS, channels, kernel_size=3, padding=1)
        self.mlp_beta = nn.Conv2d(SPADE_HIDDEN_CHANNELS, channels, kernel_size=3, padding=1)

    def forward(self, features: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Normalise `features` [B, C, h, w] under `condition` [B, condition_channels, h, w] (same size)."""
        hidden = self.mlp_shared(condition)
        return F.instance_norm(features, eps=1e-5) * (1.0 + self.mlp_gamma(hidden)) + self.mlp_beta(hidden)


def resize_condition(condition: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The network input at a feature map's `size`: bilinear, except the mask channel, nearest-neighbour."""
    resized = F.interpolate(condition, size=size, mode="bilinear", align_corners=False)
    mask = condition[:, _MASK_CHANNEL : _MASK_CHANNEL + 1]
    resized[:, _MASK_CHANNEL : _MASK_CHANNEL + 1] = F.interpolate(mask, size=size, mode="nearest")
    return resized


def upsample_features(features: torch.Tensor) -> torch.Tensor:
    """Double a decoder feature map's size: bilinearly, except channel 3, by nearest neighbour.

    The released network treats every feature map as it treats its input (channel 3 there is the mask); its
    weights were trained that way, so we keep it.
    """
    upsampled = F.interpolate(features, scale_factor=2.0, mode="bilinear", align_corners=False)
    channel = features[:, _MASK_CHANNEL : _MASK_CHANNEL + 1]
    upsampled[:, _MASK_CHANNEL : _MASK_CHANNEL + 1] = F.interpolate(channel, scale_factor=2.0, mode="nearest")
    return upsampled


_ENCODER_NORMS = (
    None,
    "spade_layer2_0",
    "spade_layer4_0",
    "spade_layer8_0",
    "spade_layer8_1",
    "spade_layer8_2",
    "spade_layer8_3",
    None,
)
"""The SPADE layer after each encoder convolution conv1..conv8 (names of the released state dict)."""
_DECODER_NORMS = (
    "spade_layer8_4",
    "spade_layer8_5",
    "spade_layer8_6",
    "spade_layer8_7",
    "spade_layer4_1",
    "spade_layer2_1",
    "spade_layer",
    None,
)
"""The SPADE layer after each decoder convolution dconv1..dconv8."""


class SpadeUnet(nn.Module):
    """The motion U-Net: 8 stride-2 4x4 encoder convolutions, 8 3x3 decoder convolutions with skip connections.

    Encoder widths (f = FILTERS): f, 2f, 4f, 8f, 8f, 8f, 8f, 8f; each convolution but the first follows a leaky ReLU
    (slope 0.2), and conv2..conv7 are followed by SPADE. The decoder starts from the ReLU of the deepest features,
    upsampled; each of dconv1..dconv7 is followed by SPADE, then its output and the matching encoder features are
    both upsampled, concatenated and passed through a ReLU. dconv8 gives the flow at the input's size. Every SPADE
    layer is conditioned on the network's input resized to its feature map.
    """

    def __init__(self, in_channels: int = INPUT_CHANNELS, out_channels: int = 2, filters: int = FILTERS) -> None:
        super().__init__()
        encoder_widths = [in_channels, filters, 2 * filters, 4 * filters] + [8 * filters] * 5
        decoder_inputs = [8 * filters] + [16 * filters] * 4 + [8 * filters, 4 * filters, 2 * filters]
        decoder_outputs = [8 * filters] * 4 + [4 * filters, 2 * filters, filters, out_channels]
        for index, norm in enumerate(_ENCODER_NORMS):
            width = encoder_widths[index + 1]
            self.add_module(f"conv{index + 1}", SpectralConv2d(encoder_widths[index], width, 4, stride=2, padding=1))
            if norm is not None:
                self.add_module(norm, SpadeNorm(width, in_channels))
        for index, norm in enumerate(_DECODER_NORMS):
            width = decoder_outputs[index]
            self.add_module(f"dconv{index + 1}", SpectralConv2d(decoder_inputs[index], width, 3, stride=1, padding=1))
            if norm is not None:
                self.add_module(norm, SpadeNorm(width, in_channels))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Flow [B, 2, S, S] from the stacked inputs [B, 6, S, S], S a multiple of NETWORK_STRIDE."""
        conditions: dict[tuple[int, int], torch.Tensor] = {}

        def normalize(name: str | None, features: torch.Tensor) -> torch.Tensor:
            if name is None:
                return features
            size = (features.shape[-2], features.shape[-1])
            if size not in conditions:
                conditions[size] = resize_condition(inputs, size)
            return getattr(self, name)(features, conditions[size])

        skips = []
        features = inputs
        for index, norm in enumerate(_ENCODER_NORMS):
            if index > 0:
                features = F.leaky_relu(features, 0.2)
            features = normalize(norm, getattr(self, f"conv{index + 1}")(features))
            skips.append(features)
        features = upsample_features(F.relu(skips[-1]))
        for index, norm in enumerate(_DECODER_NORMS[:-1]):
            features = normalize(norm, getattr(self, f"dconv{index + 1}")(features))
            skip = skips[len(skips) - 2 - index]
            features = F.relu(torch.cat([upsample_features(features), upsample_features(skip)], dim=1))
        return getattr(self, f"dconv{len(_DECODER_NORMS)}")(features)


class MotionNetwork(nn.Module):
    """3D-Cinemagraphy's motion network; its state dict is the released checkpoint's `netG` (`motion_predictor.*`)."""

    def __init__(self, filters: int = FILTERS) -> None:
        super().__init__()
        self.motion_predictor = SpadeUnet(INPUT_CHANNELS, 2, filters)

    def forward(self, rgb: torch.Tensor, mask: torch.Tensor, hint: torch.Tensor) -> torch.Tensor:
        """Flow [B, 2, S, S] (px/frame of the S x S grid) from colours [B, 3, S, S] in [-1, 1], the motion mask
        [B, 1, S, S] in [0, 1] and the hint field [B, 2, S, S] in px/frame of the grid."""
        return self.motion_predictor(torch.cat([rgb, mask, hint], dim=1))


# --- prediction at a view's resolution ---------------------------------------------------------------------------


def view_flow_from_network(
    network: nn.Module,
    rgb: np.ndarray,
    motion_mask: np.ndarray,
    hint_field: np.ndarray,
    working_size: int = WORKING_SIZE,
) -> np.ndarray:
    """The flow of a view (float32 HxWx2, px/frame at the view's resolution) predicted by `network`.

    `rgb` is float32 HxWx3 in [0, 1], `motion_mask` bool HxW, `hint_field` float32 HxWx2 in px/frame at the view's
    resolution. The inputs are resized to `working_size` (units converted), the network's flow (px/frame of that
    grid) is blurred BLUR_KERNEL x BLUR_KERNEL inside the mask there, resized back with its units converted, and
    zeroed outside `motion_mask`.
    """
    height, width = motion_mask.shape
    if rgb.shape != (height, width, 3) or hint_field.shape != (height, width, 2):
        raise ValueError(f"rgb {rgb.shape} and hint field {hint_field.shape} must match the mask {motion_mask.shape}")
    if working_size % NETWORK_STRIDE:
        raise ValueError(f"the working size must be a multiple of {NETWORK_STRIDE}, got {working_size}")
    if not motion_mask.any():
        return np.zeros((height, width, 2), np.float32)
    device = next(network.parameters(), torch.empty(0)).device
    size = (working_size, working_size)
    colours = torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)[None].to(device)
    colours = F.interpolate(colours, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0.0, 1.0)
    mask = torch.from_numpy(motion_mask.astype(np.float32))[None, None].to(device)
    mask = F.interpolate(mask, size=size, mode="area")
    hint = torch.from_numpy(resize_flow(hint_field, size)).permute(2, 0, 1)[None].to(device)
    with torch.inference_mode():
        flow = network(colours * 2.0 - 1.0, mask, hint)[0].permute(1, 2, 0).float().cpu().numpy()
    # Every working pixel that touches the mask, and one more around them, keeps its motion, so that the resize
    # back interpolates no static zeros into the view's mask.
    touched = (mask[0, 0] > 0.0).cpu().numpy().astype(np.uint8)
    working_mask = cv2.dilate(touched, np.ones((3, 3), np.uint8)).astype(bool)
    flow = resize_flow(smooth_flow(flow, working_mask, BLUR_KERNEL), (height, width))
    flow[~motion_mask] = 0.0
    return flow


@dataclass(frozen=True)
class MotionModelFile:
    """The motion network's checkpoint file that `--motion-model` names."""

    reference: str
    """The path as the user typed it."""
    description: str = "3D-Cinemagraphy motion network"
    lighter: str = f"leaving {OPTION} out (the dense hint field is then the motion)"

    @property
    def path(self) -> Path:
        return Path(self.reference).expanduser()


@dataclass(frozen=True)
class LearnedViewMotion:
    """Per-view flows from 3D-Cinemagraphy's motion network, loaded from the user's checkpoint at the first call."""

    model: MotionModelFile
    device: torch.device
    working_size: int = WORKING_SIZE

    def predict_view_flow(self, rgb: np.ndarray, motion_mask: np.ndarray, hint_field: np.ndarray) -> np.ndarray:
        """The flow of a view (float32 HxWx2, px/frame at its resolution) from its colours (float32 HxWx3 in
        [0, 1]), motion mask (bool HxW) and dense hint field (float32 HxWx2, px/frame); see `view_flow_from_network`."""
        network = load_motion_network(self.model.reference, self.device)
        height, width = motion_mask.shape
        with gpu_memory_guard(self.model, f"predicting the motion of a {width}x{height} view"):
            return view_flow_from_network(network, rgb, motion_mask, hint_field, self.working_size)


# --- the checkpoint ----------------------------------------------------------------------------------------------


def motion_model_fingerprint(reference: str) -> str:
    """What identifies the checkpoint in cache keys: its resolved path, size and modification time."""
    return file_fingerprint(Path(reference))


def check_motion_model(reference: str) -> None:
    """Read the checkpoint file `reference` and check that it holds the motion network; Mom4dInputError if not."""
    read_motion_checkpoint(MotionModelFile(reference))


def load_motion_network(reference: str, device: torch.device | str = "cpu") -> MotionNetwork:
    """The motion network of the checkpoint file `reference` on `device` (single precision), loaded at the first call
    and reused by later ones (`mom_nerfstudio.synthesis.learned.release_models` forgets it)."""
    model = MotionModelFile(reference)
    device = torch.device(device)

    def load() -> MotionNetwork:
        state = read_motion_checkpoint(model)
        logger.info("Loading the %s %s onto %s.", model.description, model.reference, device)
        with torch.device("meta"):
            network = MotionNetwork()
        network.load_state_dict(state, strict=True, assign=True)
        with gpu_memory_guard(model, "loading it"):
            return network.to(device).eval()

    return cached_model(("torch-file", str(model.path.resolve()), str(device)), load)


def read_motion_checkpoint(model: MotionModelFile) -> dict[str, torch.Tensor]:
    """The generator's state dict (float32 tensors) from the checkpoint file of `model`, checked against the network.

    Raises Mom4dInputError when the file is missing, is not a torch checkpoint, holds objects other than tensors
    (which are not unpickled, for safety), has no `netG`, or whose `netG` has other keys or shapes.
    """
    path = model.path
    where = f"The motion model file {model.reference} ({OPTION})"
    get_it = (
        f"Pass 3D-Cinemagraphy's sceneflow_model.pth (from its released checkpoints), or leave {OPTION} out to use "
        "the dense hint field as the motion."
    )
    if not path.exists():
        raise Mom4dInputError(f"{where} does not exist. {get_it}")
    if not path.is_file():
        raise Mom4dInputError(f"{where} is a folder, not a file. {get_it}")
    checkpoint = _load_checkpoint(path, where, get_it)
    if not isinstance(checkpoint, Mapping) or CHECKPOINT_KEY not in checkpoint:
        raise Mom4dInputError(f"{where} holds no {CHECKPOINT_KEY!r} entry (it holds {_contents(checkpoint)}). {get_it}")
    state = checkpoint[CHECKPOINT_KEY]
    if not isinstance(state, Mapping) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise Mom4dInputError(f"{where}: its {CHECKPOINT_KEY!r} entry is not a state dict of tensors. {get_it}")
    mismatches = _state_mismatches(state)
    if mismatches:
        raise Mom4dInputError(f"{where} does not hold 3D-Cinemagraphy's motion network: {mismatches}. {get_it}")
    return {key: value.float() for key, value in state.items()}


def _load_checkpoint(path: Path, where: str, get_it: str) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds (unpickling, zip, key, EOF errors) for what is not its file
        unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", str(error))
        if unsafe:
            raise Mom4dInputError(
                f"{where} holds a Python object of type {unsafe.group(1)}, not only tensors; such objects are not "
                f"loaded, as loading them could run code. If you trust the file, keep only its {CHECKPOINT_KEY!r} "
                f"entry: python -c \"import torch; c = torch.load('{path}', weights_only=False); "
                f"torch.save({{'{CHECKPOINT_KEY}': c['{CHECKPOINT_KEY}']}}, 'sceneflow_model_weights.pth')\", then "
                f"pass sceneflow_model_weights.pth."
            ) from error
        raise Mom4dInputError(f"{where} is not a PyTorch checkpoint ({type(error).__name__}). {get_it}") from error


def _contents(checkpoint: Any, shown: int = 6) -> str:
    if not isinstance(checkpoint, Mapping):
        return f"a {type(checkpoint).__name__}"
    keys = ", ".join(repr(key) for key in list(checkpoint)[:shown])
    return f"the entries {keys}" if keys else "no entries"


def _state_mismatches(state: Mapping[str, torch.Tensor], shown: int = 3) -> str:
    """The first differences between `state` and the network's keys and shapes, as one line; '' when none."""
    expected = expected_state_shapes()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    reshaped = [
        f"{key} is {list(state[key].shape)}, not {list(shape)}"
        for key, shape in expected.items()
        if key in state and state[key].shape != shape
    ]
    problems = []
    for what, items in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", reshaped)):
        if items:
            more = f" and {len(items) - shown} more" if len(items) > shown else ""
            problems.append(f"{len(items)} {what} ({'; '.join(items[:shown])}{more})")
    return ", ".join(problems)


@functools.cache
def expected_state_shapes() -> dict[str, torch.Size]:
    """The network's state-dict keys and their shapes (computed without allocating weights)."""
    with torch.device("meta"):
        return {key: value.shape for key, value in MotionNetwork().state_dict().items()}
