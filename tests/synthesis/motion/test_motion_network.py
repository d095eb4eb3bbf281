"""Tests of 3D-Cinemagraphy's motion network: the released checkpoint's layout, loading, errors, flows at a view."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis.learned.loading import loaded_model_count, release_models
from mom_nerfstudio.synthesis.motion.fields import dense_hint_field
from mom_nerfstudio.synthesis.motion.network import (
    WORKING_SIZE,
    LearnedViewMotion,
    MotionModelFile,
    MotionNetwork,
    SpectralConv2d,
    check_motion_model,
    expected_state_shapes,
    load_motion_network,
    motion_model_fingerprint,
    view_flow_from_network,
)

pytestmark = pytest.mark.usefixtures("offline_models")

# The generator state dict (`netG`) of 3D-Cinemagraphy's released sceneflow_model.pth, derived from its public code
# (github.com/xingyi-li/3d-cinemagraphy): lib/model/motion/motion_model.py `SPADEUnetMaskMotion` holds the U-Net as
# `motion_predictor`, an `SPADEUnet4MaskMotion` (lib/model/motion/architectures.py) built with num_filters=32,
# channels_in=6 (RGB, mask, hint) and channels_out=2. configs/config.yaml sets norm_G "sync:spectral_batch", so every
# conv*/dconv* is torch.nn.utils.spectral_norm(nn.Conv2d), whose state is bias, weight_orig, weight_u (out) and
# weight_v (in x k x k). Each SPADE (lib/model/motion/networks.py, label_nc=6) holds 3x3 convolutions mlp_shared.0
# (6 -> 128), mlp_gamma and mlp_beta (128 -> channels) and an InstanceNorm2d without affine parameters or state.
PUBLIC_CONVOLUTIONS = {  # name: (out channels, in channels, kernel size)
    "conv1": (32, 6, 4), "conv2": (64, 32, 4), "conv3": (128, 64, 4), "conv4": (256, 128, 4),
    "conv5": (256, 256, 4), "conv6": (256, 256, 4), "conv7": (256, 256, 4), "conv8": (256, 256, 4),
    "dconv1": (256, 256, 3), "dconv2": (256, 512, 3), "dconv3": (256, 512, 3), "dconv4": (256, 512, 3),
    "dconv5": (128, 512, 3), "dconv6": (64, 256, 3), "dconv7": (32, 128, 3), "dconv8": (2, 64, 3),
}  # fmt: skip
PUBLIC_SPADE_LAYERS = {  # name: channels it normalises
    "spade_layer": 32, "spade_layer2_0": 64, "spade_layer2_1": 64, "spade_layer4_0": 128, "spade_layer4_1": 128,
    **{f"spade_layer8_{index}": 256 for index in range(8)},
}  # fmt: skip


def public_state_shapes() -> dict[str, tuple[int, ...]]:
    """Every key of the released `netG` with its shape, from the tables above."""
    shapes: dict[str, tuple[int, ...]] = {}
    for name, (out, into, kernel) in PUBLIC_CONVOLUTIONS.items():
        prefix = f"motion_predictor.{name}."
        shapes[prefix + "bias"] = (out,)
        shapes[prefix + "weight_orig"] = (out, into, kernel, kernel)
        shapes[prefix + "weight_u"] = (out,)
        shapes[prefix + "weight_v"] = (into * kernel * kernel,)
    for name, channels in PUBLIC_SPADE_LAYERS.items():
        prefix = f"motion_predictor.{name}."
        shapes[prefix + "mlp_shared.0.weight"] = (128, 6, 3, 3)
        shapes[prefix + "mlp_shared.0.bias"] = (128,)
        for head in ("mlp_gamma", "mlp_beta"):
            shapes[f"{prefix}{head}.weight"] = (channels, 128, 3, 3)
            shapes[f"{prefix}{head}.bias"] = (channels,)
    return shapes


@pytest.fixture(scope="module")
def network() -> MotionNetwork:
    torch.manual_seed(0)
    return MotionNetwork().eval()


@pytest.fixture(scope="module")
def checkpoint(network: MotionNetwork, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint laid out as the released one: the generator under `netG`, beside other training state."""
    path = tmp_path_factory.mktemp("motion") / "sceneflow_model.pth"
    torch.save({"netG": network.state_dict(), "netD": {"layer.weight": torch.zeros(2)}, "epoch": 12}, path)
    return path


class ConstantFlow(nn.Module):
    """A stand-in network whose flow is the same everywhere, in px/frame of its input grid."""

    def __init__(self, dx: float, dy: float) -> None:
        super().__init__()
        self.flow = torch.tensor([dx, dy]).view(1, 2, 1, 1)

    def forward(self, rgb: torch.Tensor, mask: torch.Tensor, hint: torch.Tensor) -> torch.Tensor:
        return self.flow.expand(1, 2, *rgb.shape[-2:])


class HintEcho(nn.Module):
    """A stand-in network that returns its hint field: its units go into the network and back out unchanged."""

    def forward(self, rgb: torch.Tensor, mask: torch.Tensor, hint: torch.Tensor) -> torch.Tensor:
        return hint


def view(height: int = 64, width: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Random colours and a motion mask over the lower part of the view, away from its left edge."""
    rgb = np.random.default_rng(0).uniform(0.0, 1.0, (height, width, 3)).astype(np.float32)
    mask = np.zeros((height, width), bool)
    mask[height // 2 :, width // 6 :] = True
    return rgb, mask


def interior(mask: np.ndarray, margin: int) -> np.ndarray:
    """The mask's pixels farther than `margin` from its border and from the view's edges."""
    inner = np.zeros_like(mask)
    inner[margin:-margin, margin:-margin] = mask[margin:-margin, margin:-margin]
    for axis in (0, 1):
        for shift in range(1, margin + 1):
            inner &= np.roll(mask, shift, axis) & np.roll(mask, -shift, axis)
    return inner


# --- the network's layout ----------------------------------------------------------------------------------------


def test_the_state_dict_has_the_released_checkpoints_keys_and_shapes(network: MotionNetwork) -> None:
    expected = public_state_shapes()
    assert len(expected) == 142
    assert {key: tuple(value.shape) for key, value in network.state_dict().items()} == expected
    assert {key: tuple(shape) for key, shape in expected_state_shapes().items()} == expected


def test_the_spectral_convolution_is_torchs_spectral_norm_at_inference() -> None:
    torch.manual_seed(1)
    reference = nn.utils.spectral_norm(nn.Conv2d(5, 7, 3, stride=2, padding=1))
    inputs = torch.randn(2, 5, 12, 12)
    for _ in range(3):  # training steps move u and v away from their initial values
        reference(inputs)
    reference.eval()
    ours = SpectralConv2d(5, 7, 3, stride=2, padding=1)
    ours.load_state_dict(reference.state_dict(), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(ours(inputs), reference(inputs), rtol=1e-5, atol=1e-6)


def test_a_fresh_spectral_convolution_has_unit_spectral_norm() -> None:
    torch.manual_seed(2)
    convolution = SpectralConv2d(16, 32, 3, stride=1, padding=1)
    norm = torch.linalg.matrix_norm(convolution.normalized_weight().flatten(1).detach(), ord=2)
    assert abs(float(norm) - 1.0) < 1e-3


# --- loading -----------------------------------------------------------------------------------------------------


def test_a_checkpoint_loads_strictly_once_per_process(checkpoint: Path, network: MotionNetwork) -> None:
    check_motion_model(str(checkpoint))
    loaded = load_motion_network(str(checkpoint))
    assert not loaded.training
    original = network.state_dict()
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, original[key], rtol=0, atol=0)
    assert load_motion_network(str(checkpoint)) is loaded and loaded_model_count() == 1
    release_models()
    assert load_motion_network(str(checkpoint)) is not loaded


def test_the_fingerprint_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save({"netG": {}}, path)
    first = motion_model_fingerprint(str(path))
    torch.save({"netG": {"a": torch.zeros(3)}}, path)
    assert motion_model_fingerprint(str(path)) != first
    assert str(path) in first


def save(path: Path, content: object) -> str:
    torch.save(content, path)
    return str(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Mom4dInputError, match=r"absent.pth \(--motion-model\) does not exist\. Pass 3D-Cinemagraphy"):
        check_motion_model(str(tmp_path / "absent.pth"))


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Mom4dInputError, match="is a folder, not a file.*leave --motion-model out"):
        check_motion_model(str(tmp_path))


@pytest.mark.parametrize("content", [np.random.default_rng(0).bytes(2000), b"a text file, not weights\n"])
def test_a_file_that_is_no_checkpoint_is_refused(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "notes.pth"
    path.write_bytes(content)
    with pytest.raises(Mom4dInputError, match=r"notes.pth \(--motion-model\) is not a PyTorch checkpoint"):
        check_motion_model(str(path))


def test_a_checkpoint_with_python_objects_is_not_unpickled(tmp_path: Path) -> None:
    path = save(tmp_path / "with-options.pth", {"netG": {}, "options": argparse.Namespace(lr=1e-4)})
    with pytest.raises(Mom4dInputError, match=r"holds a Python object of type argparse.Namespace.*weights_only=False"):
        check_motion_model(path)


def test_a_checkpoint_without_the_generator_is_refused(tmp_path: Path) -> None:
    path = save(tmp_path / "other.pth", {"model": {}, "epoch": 3})
    with pytest.raises(Mom4dInputError, match=r"holds no 'netG' entry \(it holds the entries 'model', 'epoch'\)"):
        check_motion_model(path)
    path = save(tmp_path / "tensor.pth", torch.zeros(3))
    with pytest.raises(Mom4dInputError, match=r"holds no 'netG' entry \(it holds a Tensor\)"):
        check_motion_model(path)
    path = save(tmp_path / "numbers.pth", {"netG": {"conv.weight": 1.0}})
    with pytest.raises(Mom4dInputError, match="'netG' entry is not a state dict of tensors"):
        check_motion_model(path)


def test_a_generator_of_another_network_names_the_first_mismatches(tmp_path: Path) -> None:
    state = {"motion_predictor.conv1.bias": torch.zeros(31), "module.conv1.bias": torch.zeros(32)}
    path = save(tmp_path / "other-net.pth", {"netG": state})
    with pytest.raises(Mom4dInputError) as raised:
        check_motion_model(path)
    message = str(raised.value)
    assert "does not hold 3D-Cinemagraphy's motion network" in message
    assert "141 missing keys (motion_predictor.conv1.weight_orig; motion_predictor.conv1.weight_u; " in message
    assert "and 138 more" in message
    assert "1 unexpected keys (module.conv1.bias)" in message
    assert "1 wrong shapes (motion_predictor.conv1.bias is [31], not [32])" in message


# --- flows at a view's resolution ----------------------------------------------------------------------------------


def test_the_networks_flow_is_scaled_from_its_grid_to_the_views_pixels() -> None:
    rgb, mask = view(height=64, width=96)
    # 8 and 12 px/frame of the 768 x 768 grid are 8 * 96 / 768 = 1 and 12 * 64 / 768 = 1 px/frame of the view.
    flow = view_flow_from_network(ConstantFlow(8.0, 12.0), rgb, mask, np.zeros((64, 96, 2), np.float32))
    assert flow.shape == (64, 96, 2) and flow.dtype == np.float32
    np.testing.assert_allclose(flow[mask], 1.0, atol=1e-5)
    assert (flow[~mask] == 0.0).all()


@pytest.mark.parametrize(("size", "working_size"), [((64, 96), WORKING_SIZE), ((300, 420), 256)])
def test_px_per_frame_survive_the_round_trip_through_the_working_grid(size, working_size) -> None:
    rgb, mask = view(*size)
    starts = np.array([[size[1] * 0.5, size[0] * 0.75]])
    hint = dense_hint_field(mask, starts, np.array([[1.5, -0.5]]))
    flow = view_flow_from_network(HintEcho(), rgb, mask, hint, working_size)
    inner = interior(mask, margin=max(4, round(2 * 15 * max(size) / working_size)))
    assert inner.sum() > 100
    np.testing.assert_allclose(flow[inner], np.broadcast_to([1.5, -0.5], flow[inner].shape), atol=1e-4)
    # Along the border the hint itself is diluted by resizing it (it is zero outside the mask), but the blur adds no
    # zeros from outside: a plain 15 x 15 box blur would lose half of the motion at the border.
    border = mask & ~inner
    assert np.abs(flow[border] / [1.5, -0.5] - 1.0).max() < 1.0 / 3.0
    assert (flow[~mask] == 0.0).all()


def test_an_empty_mask_needs_no_network() -> None:
    rgb, mask = view()
    no_motion = np.zeros_like(mask)
    flow = view_flow_from_network(None, rgb, no_motion, np.zeros((*mask.shape, 2), np.float32))  # type: ignore[arg-type]
    assert flow.shape == (*mask.shape, 2) and not flow.any()


def test_the_loaded_network_gives_a_masked_flow_at_the_views_size(checkpoint: Path) -> None:
    rgb, mask = view(height=48, width=80)
    hint = dense_hint_field(mask, np.array([[40.0, 40.0]]), np.array([[1.0, 0.0]]))
    predictor = LearnedViewMotion(MotionModelFile(str(checkpoint)), torch.device("cpu"), working_size=256)
    flow = predictor.predict_view_flow(rgb, mask, hint)
    assert flow.shape == (48, 80, 2) and flow.dtype == np.float32
    assert np.isfinite(flow).all()
    assert (flow[~mask] == 0.0).all() and np.abs(flow[mask]).max() > 0.0
