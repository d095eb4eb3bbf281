"""Tests of the loop metrics: seam, ghosting and leakage, each on loops whose right score is known."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from evaluation.loop_metrics import (
    LEAKAGE_THRESHOLD,
    SEAM_TARGET,
    ghosting_ratio,
    leakage,
    loop_seam_ratio,
    still_region,
    texture_contrast,
)

HEIGHT, WIDTH = 48, 96
FRAMES = 12


def texture(seed: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """A fine random texture, float RGB in [0, 1] (slightly blurred noise: textures of two seeds are uncorrelated)."""
    noise = np.random.default_rng(seed).uniform(0.0, 1.0, (height, width)).astype(np.float32)
    grey = 0.5 + 0.8 * (cv2.GaussianBlur(noise, (0, 0), 0.8) - 0.5)
    return np.repeat(grey[..., None], 3, axis=2)


def flowing(canvas: np.ndarray, shift: int) -> np.ndarray:
    """The window of a wide canvas that a texture flowing right at 1 px/frame shows after `shift` frames."""
    start = canvas.shape[1] // 2 - WIDTH // 2 - shift
    return canvas[:, start : start + WIDTH]


def symmetric_loop(canvas: np.ndarray) -> np.ndarray:
    """A texture flowing right at 1 px/frame, looped as mom4d loops: frame t blends the texture moved t frames
    (weight 1 - t/N) with the texture moved t - N frames (weight t/N)."""
    return np.stack(
        [(1 - t / FRAMES) * flowing(canvas, t) + (t / FRAMES) * flowing(canvas, t - FRAMES) for t in range(FRAMES)]
    )


@pytest.fixture(scope="module")
def canvas() -> np.ndarray:
    return texture(0, width=WIDTH + 4 * FRAMES)


# Seam --------------------------------------------------------------------------------------------------------------


def test_a_symmetric_loop_has_a_seam_like_its_other_steps(canvas):
    assert SEAM_TARGET[0] <= loop_seam_ratio(symmetric_loop(canvas)) <= SEAM_TARGET[1]


def test_a_video_that_jumps_back_to_its_start_has_a_bad_seam(canvas):
    unlooped = np.stack([flowing(canvas, t) for t in range(FRAMES)])  # flows on, then jumps back
    assert loop_seam_ratio(unlooped) > 1.5
    assert loop_seam_ratio(list(unlooped)) == loop_seam_ratio(unlooped)  # a list of frames reads the same


def test_a_still_loop_has_no_seam_ratio():
    assert math.isnan(loop_seam_ratio(np.repeat(texture(1)[None], FRAMES, axis=0)))
    with pytest.raises(ValueError, match="3 frames"):
        loop_seam_ratio(np.zeros((2, HEIGHT, WIDTH, 3)))


# Ghosting ----------------------------------------------------------------------------------------------------------


def test_cross_fading_two_uncorrelated_copies_scores_about_0_71():
    first, other = texture(2), texture(3)
    mask = np.ones((HEIGHT, WIDTH), bool)
    assert ghosting_ratio(first, 0.5 * first + 0.5 * other, mask) == pytest.approx(1 / math.sqrt(2), abs=0.03)


def test_moved_texture_keeps_its_contrast_and_a_blurred_one_loses_it(canvas):
    mask = np.ones((HEIGHT, WIDTH), bool)
    assert ghosting_ratio(flowing(canvas, 0), flowing(canvas, 5), mask) == pytest.approx(1.0, abs=0.05)
    blurred = cv2.GaussianBlur(flowing(canvas, 0), (0, 0), 2.0)
    assert ghosting_ratio(flowing(canvas, 0), blurred, mask) < 0.5


def test_a_symmetric_loop_ghosts_at_mid_loop(canvas):
    loop = symmetric_loop(canvas)
    mask = np.ones((HEIGHT, WIDTH), bool)
    # At t = 1/2 two copies 12 px apart (uncorrelated) are blended half and half.
    assert ghosting_ratio(loop[0], loop[FRAMES // 2], mask) == pytest.approx(1 / math.sqrt(2), abs=0.04)


def test_ghosting_is_measured_inside_the_mask_away_from_its_edge():
    first = texture(4)
    later = first.copy()
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[10:38, 20:76] = True
    later[mask] = 0.5  # the moving region lost all its texture; the rest did not change
    assert ghosting_ratio(first, later, mask) == pytest.approx(0.0, abs=1e-6)
    # The edge of a flat region against texture has contrast of its own, which does not count.
    assert texture_contrast(later, mask) > 0.0
    with pytest.raises(ValueError, match="no texture"):
        ghosting_ratio(np.full((HEIGHT, WIDTH, 3), 0.3), first, mask)


# Leakage -----------------------------------------------------------------------------------------------------------


def test_leakage_counts_the_still_pixels_that_change(canvas):
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[20:, :] = True  # the lower part moves
    still_background = texture(5)
    loop = np.repeat(still_background[None], FRAMES, axis=0)
    loop[:, 20:] = symmetric_loop(canvas)[:, 20:]
    assert leakage(loop, mask) == 0.0

    leaking = loop.copy()
    leaking[3:7, 2:6, 10:20] += 0.1  # a 4x10 patch flickers for a few frames, far from the moving region
    still = still_region(mask)
    assert leakage(leaking, mask) == pytest.approx(40 / still.sum())

    noisy = loop.copy()
    noisy[1:, :18] += np.random.default_rng(6).uniform(-1, 1, noisy[1:, :18].shape) * 0.8 * LEAKAGE_THRESHOLD
    assert leakage(noisy, mask) == 0.0  # render noise below the threshold


def test_the_still_region_leaves_a_margin_around_the_motion():
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[20:, :] = True
    still = still_region(mask)
    assert not still[19].any() and still[18].all()  # a margin of 1 px at 96 px
    wide = np.zeros((500, 1000), bool)
    wide[250:] = True
    assert still_region(wide)[:240].all() and not still_region(wide)[240:].any()  # 10 px at 1000 px
    with pytest.raises(ValueError, match="whole image"):
        leakage(np.zeros((3, HEIGHT, WIDTH, 3)), np.ones((HEIGHT, WIDTH), bool))
