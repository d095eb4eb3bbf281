"""The loop's schedule and the blend of its copies, shared by the synthesised videos and the model."""

from __future__ import annotations

import pytest
import torch

from mom_nerfstudio.loop import blend_copies, loop_terms


def test_loop_terms_weights_offsets_and_time_coordinates() -> None:
    assert [(term.weight, term.frames, term.time_coordinate) for term in loop_terms(0.0, 60)] == [(1.0, 0.0, 0.0)]
    forward, backward = loop_terms(0.25, 60)
    assert (forward.weight, forward.frames, forward.time_coordinate) == (0.75, 15.0, 0.25)
    assert (backward.weight, backward.frames, backward.time_coordinate) == (0.25, -45.0, -0.75)
    assert forward.frames - backward.frames == 60
    assert loop_terms(1.25, 60) == loop_terms(0.25, 60)


def test_blend_fills_a_hole_of_one_copy_with_the_other() -> None:
    red, blue = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, 1.0])
    colours = [red.expand(1, 2, 3), blue.expand(1, 2, 3)]
    coverages = [torch.tensor([[[1.0], [0.0]]]), torch.tensor([[[1.0], [1.0]]])]
    blended = blend_copies(colours, coverages, [0.75, 0.25])
    assert torch.allclose(blended.colour[0, 0], 0.75 * red + 0.25 * blue)
    # Where the dominant copy is empty the other one fills the pixel completely: no background shows.
    assert torch.allclose(blended.colour[0, 1], blue)
    assert torch.allclose(blended.coverage, torch.ones_like(blended.coverage))


def texture(seed: int, size: int = 96) -> torch.Tensor:
    """A grey texture of unit-variance noise around 0.5, [H, W, 3]."""
    noise = torch.randn(size, size, 1, generator=torch.Generator().manual_seed(seed))
    return (0.5 + 0.1 * noise).expand(size, size, 3)


def contrast(image: torch.Tensor) -> float:
    return float(image.std())


@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.8, 0.2)])
def test_contrast_preserving_blend_keeps_the_contrast_of_uncorrelated_copies(weights: tuple[float, float]) -> None:
    first, second = texture(0), texture(1)
    coverage = torch.ones(96, 96, 1)
    linear = blend_copies([first, second], [coverage, coverage], list(weights), "linear")
    kept = blend_copies([first, second], [coverage, coverage], list(weights), "contrast-preserving")
    expected_loss = (weights[0] ** 2 + weights[1] ** 2) ** 0.5  # 0.71 half and half
    assert contrast(linear.colour) / contrast(first) == pytest.approx(expected_loss, abs=0.05)
    assert contrast(kept.colour) / contrast(first) == pytest.approx(1.0, abs=0.08)
    assert float(kept.colour.mean()) == pytest.approx(0.5, abs=0.01)  # the mean is the mix's


def test_contrast_preserving_blend_leaves_agreeing_copies_alone() -> None:
    image = texture(2)
    coverage = torch.ones(96, 96, 1)
    blended = blend_copies([image, image], [coverage, coverage], [0.4, 0.6], "contrast-preserving")
    torch.testing.assert_close(blended.colour, image, atol=1e-5, rtol=0)


def test_contrast_preserving_blend_leaves_static_pixels_beside_moving_texture_exactly() -> None:
    still = texture(3)
    first, second = still.clone(), still.clone()
    first[:, :48], second[:, :48] = texture(4)[:, :48], texture(5)[:, :48]  # the left half moves
    coverage = torch.ones(96, 96, 1)
    blended = blend_copies([first, second], [coverage, coverage], [0.5, 0.5], "contrast-preserving")
    assert torch.equal(blended.colour[:, 48:], still[:, 48:])
    assert contrast(blended.colour[:, 8:40]) / contrast(first[:, 8:40]) > 0.9  # a plain mix keeps 0.71
