"""PIQE, the Perception based Image Quality Evaluator: a no-reference quality score (lower is better).

Venkatanath N, Praneeth D, Maruthi Chandrasekhar Bh, S. S. Channappayya and S. S. Medasani, "Blind image quality
evaluation using perception based features", Twenty First National Conference on Communications (NCC), 2015.

The image is cut into 16x16 blocks of its MSCN coefficients (mean-subtracted, contrast-normalised luminance).
Only spatially active blocks count (MSCN variance above 0.1). An active block is distorted

- by a noticeable artifact (blockiness, sudden flat patches) when a segment of 6 contiguous pixels on one of
  its four edges is nearly constant (standard deviation below 0.1); it then scores 1 - variance;
- by noise when its standard deviation exceeds twice beta, the relative gap between that deviation and the
  ratio of the deviations of its two central columns and of the rest of the block; it then scores variance.

The score is 100 (sum of block scores + 1) / (number of active blocks + 1), in [0, 100]: about 0-20 reads as
excellent, 80-100 as bad. A flat image has no active block and scores 100, as in the reference.

Constants, grey conversion, 0-255 rescaling, symmetric padding to whole blocks, the 7x7 Gaussian window of
sigma 7/6 with replicated borders, unbiased variances and the column selection of the centre-surround test
follow MATLAB's `piqe`, the behaviour the published scores (the paper's Table: 7.80 for 3D-MOM) were computed
with.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

BLOCK_SIZE = 16
ACTIVITY_THRESHOLD = 0.1
"""MSCN variance above which a block is spatially active."""
FLAT_SEGMENT_THRESHOLD = 0.1
"""Standard deviation below which an edge segment is flat, the mark of a noticeable artifact."""
SEGMENT_LENGTH = 6
MSCN_WINDOW = 7
MSCN_SIGMA = 7.0 / 6.0
"""A Gaussian sampled out to 3 standard deviations over the 7x7 window."""
GREY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
"""BT.601 luma weights as MATLAB's rgb2gray rounds them."""


@dataclass(frozen=True)
class PiqeAnalysis:
    """A PIQE score and its block-level maps (bool HxW at the size of the image)."""

    score: float
    activity_mask: np.ndarray
    """Blocks that are spatially active, the only ones that count."""
    noticeable_artifacts_mask: np.ndarray
    """Active blocks with a flat edge segment (blockiness, sudden artifacts)."""
    noise_mask: np.ndarray
    """Active blocks that look noisy."""


def piqe(image: np.ndarray | torch.Tensor) -> float:
    """PIQE score of an image, in [0, 100], lower is better (see the module docstring).

    Args:
        image: RGB HxWx3 or grey HxW, float in [0, 1] (any non-negative range works: it is rescaled by its maximum).
    """
    return analyse_piqe(image).score


def analyse_piqe(image: np.ndarray | torch.Tensor) -> PiqeAnalysis:
    """PIQE score of an image with the maps of its active, artifact-marked and noisy blocks."""
    grey = _grey_0_255(image)
    height, width = grey.shape
    padded = np.pad(grey, ((0, -height % BLOCK_SIZE), (0, -width % BLOCK_SIZE)), mode="symmetric")
    blocks = _blocks(_mscn(padded))

    variance = blocks.var(axis=(-2, -1), ddof=1)
    active = variance > ACTIVITY_THRESHOLD
    artifacts = active & _has_flat_edge_segment(blocks)
    noisy = active & _looks_noisy(blocks, variance)

    distortion = np.where(artifacts, 1.0 - variance, 0.0) + np.where(noisy, variance, 0.0)
    score = 100.0 * (distortion.sum() + 1.0) / (active.sum() + 1.0)
    return PiqeAnalysis(
        # A block's term can leave [0, 1] when its MSCN variance exceeds 1; the score keeps its documented range.
        score=float(np.clip(score, 0.0, 100.0)),
        activity_mask=_block_map_to_pixels(active, height, width),
        noticeable_artifacts_mask=_block_map_to_pixels(artifacts, height, width),
        noise_mask=_block_map_to_pixels(noisy, height, width),
    )


def _grey_0_255(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """Grey float64 HxW rescaled so that its maximum is 255, rounded to integers (all zeros for a black image)."""
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    array = array.astype(np.float64)
    if array.ndim == 3 and array.shape[2] == 3:
        array = array @ GREY_WEIGHTS
    if array.ndim != 2 or min(array.shape) == 0:
        raise ValueError(f"piqe: expected an HxWx3 or HxW image, got shape {tuple(array.shape)}")
    if not np.isfinite(array).all():
        raise ValueError("piqe: the image holds NaN or infinite values")
    peak = array.max()
    if peak <= 0.0:
        return np.zeros_like(array)
    return np.round(255.0 * array / peak)


def _mscn(grey: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients: (I - mu) / (sigma + 1) over a local Gaussian window."""
    window = (MSCN_WINDOW, MSCN_WINDOW)
    mean = cv2.GaussianBlur(grey, window, MSCN_SIGMA, borderType=cv2.BORDER_REPLICATE)
    mean_of_squares = cv2.GaussianBlur(grey * grey, window, MSCN_SIGMA, borderType=cv2.BORDER_REPLICATE)
    deviation = np.sqrt(np.abs(mean_of_squares - mean * mean))
    return (grey - mean) / (deviation + 1.0)


def _blocks(array: np.ndarray) -> np.ndarray:
    """(rows, cols, 16, 16) view of the 16x16 blocks of an array whose sides are multiples of 16."""
    rows, cols = array.shape[0] // BLOCK_SIZE, array.shape[1] // BLOCK_SIZE
    return array.reshape(rows, BLOCK_SIZE, cols, BLOCK_SIZE).swapaxes(1, 2)


def _has_flat_edge_segment(blocks: np.ndarray) -> np.ndarray:
    """Per block: does any run of 6 pixels along its top, right, bottom or left edge have a std below 0.1?"""
    edges = np.stack([blocks[..., 0, :], blocks[..., :, -1], blocks[..., -1, :], blocks[..., :, 0]], axis=-2)
    segments = np.lib.stride_tricks.sliding_window_view(edges, SEGMENT_LENGTH, axis=-1)
    return (segments.std(axis=-1, ddof=1) < FLAT_SEGMENT_THRESHOLD).any(axis=(-2, -1))


def _looks_noisy(blocks: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Per block: the noise criterion, block std > 2 beta with beta = |std - r| / max(std, r).

    r is the ratio of the std of the two central columns to the std of the other columns. The surround leaves
    out columns 7 and 9 (0-based) rather than 7 and 8, as the reference removes the second centre column after
    the first one has already shifted the columns left; kept so that scores match the published ones.
    """
    centre_columns = [BLOCK_SIZE // 2 - 1, BLOCK_SIZE // 2]
    surround_columns = [c for c in range(BLOCK_SIZE) if c not in (centre_columns[0], centre_columns[1] + 1)]
    leading = blocks.shape[:-2]
    centre = blocks[..., centre_columns].reshape(*leading, -1)
    surround = blocks[..., surround_columns].reshape(*leading, -1)
    block_std = np.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = centre.std(axis=-1, ddof=1) / surround.std(axis=-1, ddof=1)
        ratio = np.where(np.isnan(ratio), 0.0, ratio)
        beta = np.abs(block_std - ratio) / np.maximum(block_std, ratio)
        return block_std > 2.0 * beta  # False where beta is NaN (a flat block), as in the reference


def _block_map_to_pixels(block_map: np.ndarray, height: int, width: int) -> np.ndarray:
    """Expand a per-block bool map to pixels, cropped to the unpadded image size."""
    pixels = np.repeat(np.repeat(block_map, BLOCK_SIZE, axis=0), BLOCK_SIZE, axis=1)
    return pixels[:height, :width]
