"""The looping HexPlane encoding samples exactly what nerfstudio's K-Planes encoding samples, gradients included."""

import pytest
import torch
from nerfstudio.field_components.encodings import KPlanesEncoding

from mom_nerfstudio import hexplane
from mom_nerfstudio.hexplane import (
    LoopingHexPlaneEncoding,
    sample_line,
    sample_plane,
    slice_time_plane,
)


def _randomised(encoding: LoopingHexPlaneEncoding, seed: int = 0) -> LoopingHexPlaneEncoding:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for plane in encoding.plane_coefs:
            plane.copy_(0.5 + torch.rand(plane.shape, generator=generator))
    return encoding


def _reference(encoding: LoopingHexPlaneEncoding, positions: torch.Tensor, time_coordinate: float) -> torch.Tensor:
    """nerfstudio's own (grid_sample) forward over the same planes."""
    coordinates = torch.cat([positions, torch.full_like(positions[:, :1], time_coordinate)], dim=-1)
    return KPlanesEncoding.forward(encoding, coordinates)


@pytest.mark.parametrize("time_coordinate", [-1.0, -0.37, 0.0, 0.52, 1.0])
def test_features_at_one_time_match_kplanes(time_coordinate: float) -> None:
    encoding = _randomised(LoopingHexPlaneEncoding(resolution=(7, 5, 6, 9), num_components=4))
    positions = torch.rand(300, 3, generator=torch.Generator().manual_seed(1)) * 2.4 - 1.2  # some outside: border
    (ours,) = encoding.features_at_times(positions, [time_coordinate])
    assert torch.allclose(ours, _reference(encoding, positions, time_coordinate), atol=1e-5)


@pytest.mark.parametrize("copies", [1, 3])
def test_two_times_match_kplanes_and_its_plane_gradients(copies: int, monkeypatch) -> None:
    monkeypatch.setattr(hexplane, "gradient_copies", lambda grad: copies)
    positions = torch.rand(500, 3, generator=torch.Generator().manual_seed(2)) * 2 - 1
    positions[:200, 2] = 0.25  # a flat layer (the sky at one depth): many samples share cells
    weight_grad = torch.randn(500, 4, generator=torch.Generator().manual_seed(3))
    t = 0.3
    ours = _randomised(LoopingHexPlaneEncoding(resolution=(6, 6, 6, 8), num_components=4))
    theirs = _randomised(LoopingHexPlaneEncoding(resolution=(6, 6, 6, 8), num_components=4))
    forward, backward = ours.features_at_times(positions, [t, t - 1])
    blended = (1 - t) * forward + t * backward
    reference = (1 - t) * _reference(theirs, positions, t) + t * _reference(theirs, positions, t - 1)
    assert torch.allclose(blended, reference, atol=1e-5)
    (blended * weight_grad).sum().backward()
    (reference * weight_grad).sum().backward()
    for mine, expected in zip(ours.plane_coefs, theirs.plane_coefs):
        assert torch.allclose(mine.grad, expected.grad, atol=1e-4)


def test_given_spatial_features_are_used_instead_of_sampling_the_planes() -> None:
    encoding = _randomised(LoopingHexPlaneEncoding(resolution=(4, 4, 4, 5), num_components=3))
    positions = torch.rand(10, 3) * 2 - 1
    spatial = encoding.spatial_features(positions)
    (sampled,) = encoding.features_at_times(positions, [0.4])
    (given,) = encoding.features_at_times(positions, [0.4], spatial)
    assert torch.equal(sampled, given)
    (doubled,) = encoding.features_at_times(positions, [0.4], 2.0 * spatial)
    assert torch.allclose(doubled, 2.0 * sampled)


def test_samplers_hit_cell_centres_exactly() -> None:
    plane = torch.arange(12.0).reshape(1, 3, 4)  # C=1, H=3, W=4
    u = torch.tensor([-1.0, 1.0, -1.0 / 3.0])  # columns 0, 3, 1
    v = torch.tensor([-1.0, 1.0, 0.0])  # rows 0, 2, 1
    assert sample_plane(plane, u, v)[:, 0].tolist() == [0.0, 11.0, 5.0]
    line = torch.tensor([[2.0, 4.0, 8.0]])
    assert sample_line(line, torch.tensor([-1.0, -0.5, 1.0, 3.0]))[:, 0].tolist() == [2.0, 3.0, 8.0, 8.0]
    time_plane = torch.arange(6.0).reshape(1, 3, 2)  # rows are times
    assert slice_time_plane(time_plane, 0.5)[0].tolist() == [3.0, 4.0]


def test_a_three_dimensional_resolution_is_refused() -> None:
    with pytest.raises(ValueError, match="4D"):
        LoopingHexPlaneEncoding(resolution=(4, 4, 4), num_components=2)
