"""Tests of loading the input photo."""

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.image_io import load_image

ORANGE = (250, 128, 10)


def _solid(path: Path, mode: str = "RGB", color=ORANGE, size=(48, 40), **save_options) -> Path:
    Image.new(mode, size, color).save(path, **save_options)
    return path


@pytest.mark.parametrize("suffix", [".png", ".tiff", ".webp", ".jpg"])
def test_each_format_loads_as_float_rgb(tmp_path, suffix):
    lossless = suffix in (".png", ".tiff")
    path = _solid(tmp_path / f"photo{suffix}", **({} if lossless else {"quality": 95}))
    loaded = load_image(path)
    assert loaded.rgb.dtype == np.float32 and loaded.rgb.shape == (40, 48, 3)
    assert loaded.original_size == (40, 48) and loaded.scale == 1.0 and loaded.opacity_mask is None
    tolerance = 1e-6 if lossless else 4 / 255
    np.testing.assert_allclose(loaded.rgb[20, 24], np.array(ORANGE) / 255, atol=tolerance)


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_an_animated_photo_uses_its_first_frame_and_says_so(tmp_path, caplog, suffix):
    caplog.set_level(logging.INFO, logger="mom4d")
    first, *others = [Image.new("RGB", (48, 40), color) for color in (ORANGE, (0, 0, 255), (0, 255, 0))]
    path = tmp_path / f"photo{suffix}"
    first.save(path, save_all=True, append_images=others, duration=100, loop=0, lossless=True)
    loaded = load_image(path)
    np.testing.assert_allclose(loaded.rgb[20, 24], np.array(ORANGE) / 255, atol=1e-6)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert [record.getMessage() for record in warnings] == [
        f"Image {path} has 3 frames; using its first frame as the photo (the others are ignored)."
    ]


def test_a_still_gif_says_nothing_about_frames(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="mom4d")
    load_image(_solid(tmp_path / "photo.gif"))
    assert "frames" not in caplog.text


def test_16_bit_png_is_scaled_by_its_full_range(tmp_path):
    values = np.array([[0, 1000, 32768, 65535]], dtype=np.uint16).repeat(32, axis=0).repeat(8, axis=1)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I;16")
    rgb = load_image(path).rgb
    expected = np.array([0, 1000, 32768, 65535]) / 65535
    np.testing.assert_allclose(rgb[0, ::8, 0], expected, atol=1e-6)
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])


def test_16_bit_tiff_is_scaled_by_its_full_range(tmp_path):
    path = tmp_path / "deep.tiff"
    Image.fromarray(np.full((32, 40), 40000, dtype=np.uint16)).save(path)
    np.testing.assert_allclose(load_image(path).rgb, 40000 / 65535, atol=1e-6)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    rgb = load_image(_solid(tmp_path / "grey.png", mode="L", color=100)).rgb
    np.testing.assert_allclose(rgb, 100 / 255, atol=1e-6)


def test_palette_image_keeps_its_colours(tmp_path):
    path = tmp_path / "palette.png"
    Image.new("RGB", (40, 40), ORANGE).convert("P", palette=Image.Palette.ADAPTIVE).save(path)
    np.testing.assert_allclose(load_image(path).rgb[0, 0], np.array(ORANGE) / 255, atol=1e-6)


def _half_transparent(path: Path) -> Path:
    """A 40x40 RGBA image: left half opaque orange, right half orange at alpha 64/255."""
    pixels = np.zeros((40, 40, 4), dtype=np.uint8)
    pixels[..., :3] = ORANGE
    pixels[:, :20, 3] = 255
    pixels[:, 20:, 3] = 64
    Image.fromarray(pixels, mode="RGBA").save(path)
    return path


def test_rgba_white_mode_composites_on_white(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="mom4d")
    loaded = load_image(_half_transparent(tmp_path / "cutout.png"), alpha_mode="white")
    alpha = 64 / 255
    expected_right = np.array(ORANGE) / 255 * alpha + (1 - alpha)
    np.testing.assert_allclose(loaded.rgb[10, 5], np.array(ORANGE) / 255, atol=1e-6)
    np.testing.assert_allclose(loaded.rgb[10, 30], expected_right, atol=1e-6)
    assert loaded.opacity_mask is None
    # Which pixels were transparent is kept, so that the automatic motion can leave them still.
    assert loaded.transparent is not None and loaded.transparent.dtype == bool
    assert loaded.transparent[:, 20:].all() and not loaded.transparent[:, :20].any()
    assert "composited it on white" in caplog.text


def test_rgba_mask_mode_keeps_colours_and_returns_the_opacity(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="mom4d")
    loaded = load_image(_half_transparent(tmp_path / "cutout.png"), alpha_mode="mask")
    np.testing.assert_allclose(loaded.rgb[10, 30], np.array(ORANGE) / 255, atol=1e-6)
    assert loaded.opacity_mask is not None and loaded.opacity_mask.dtype == bool
    assert loaded.opacity_mask[:, :20].all() and not loaded.opacity_mask[:, 20:].any()
    assert np.array_equal(loaded.transparent, ~loaded.opacity_mask)
    assert "opacity mask" in caplog.text


def test_exif_orientation_6_is_turned_upright(tmp_path):
    # Stored 60 wide x 40 high with a red block top-left; orientation 6 means "rotate 90 degrees clockwise to view".
    pixels = np.full((40, 60, 3), 255, dtype=np.uint8)
    pixels[:16, :16] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.original_size == (60, 40)
    red = np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(loaded.rgb[4, 40 - 5], red, atol=0.1)  # the block is now top-right
    np.testing.assert_allclose(loaded.rgb[4, 4], 1.0, atol=0.1)


def test_downscale_to_max_resolution_logs_sizes(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="mom4d")
    path = _solid(tmp_path / "large.png", size=(300, 200))
    loaded = load_image(path, max_resolution=128)
    assert loaded.rgb.shape == (85, 128, 3)  # 200 * 128 / 300 = 85.3
    assert loaded.original_size == (200, 300)
    assert loaded.scale == pytest.approx(128 / 300)
    assert "from 300x200 to 128x85" in caplog.text
    assert np.abs(loaded.rgb - np.array(ORANGE) / 255).max() < 1e-5


def test_small_image_is_not_enlarged(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="mom4d")
    loaded = load_image(_solid(tmp_path / "small.png", size=(64, 48)), max_resolution=1024)
    assert loaded.rgb.shape == (48, 64, 3) and loaded.scale == 1.0
    assert "Resized" not in caplog.text


def test_downscale_averages_area(tmp_path):
    stripes = np.zeros((64, 64, 3), dtype=np.uint8)
    stripes[:, ::2] = 255
    path = tmp_path / "stripes.png"
    Image.fromarray(stripes).save(path)
    np.testing.assert_allclose(load_image(path, max_resolution=32).rgb, 0.5, atol=1e-6)


def test_content_hash_is_the_sha256_of_the_bytes(tmp_path):
    first = _solid(tmp_path / "a.png")
    second = _solid(tmp_path / "b.png")
    other = _solid(tmp_path / "c.png", color=(0, 0, 0))
    assert load_image(first).content_hash == load_image(first).content_hash == load_image(second).content_hash
    assert load_image(first).content_hash != load_image(other).content_hash
    assert load_image(first).content_hash == hashlib.sha256(first.read_bytes()).hexdigest()


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(Mom4dInputError, match="does not exist"):
        load_image(tmp_path / "nowhere.jpg")


def test_directory_is_an_input_error(tmp_path):
    with pytest.raises(Mom4dInputError, match="is a directory"):
        load_image(tmp_path)


def test_non_image_is_an_input_error(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not a photo")
    with pytest.raises(Mom4dInputError, match=r"notes\.jpg is not an image"):
        load_image(path)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_image_is_an_input_error(tmp_path, suffix):
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    path = tmp_path / f"cut{suffix}"
    Image.fromarray(noise).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(Mom4dInputError, match="damaged or truncated"):
        load_image(path)


@pytest.mark.parametrize("size", [(31, 100), (100, 31)])
def test_image_under_32_pixels_is_an_input_error(tmp_path, size):
    with pytest.raises(Mom4dInputError, match="at least 32"):
        load_image(_solid(tmp_path / "tiny.png", size=size))


def test_extreme_aspect_ratio_that_shrinks_under_32_pixels_is_an_input_error(tmp_path):
    with pytest.raises(Mom4dInputError, match="Raise --max-resolution"):
        load_image(_solid(tmp_path / "strip.png", size=(400, 40)), max_resolution=200)


def test_max_resolution_under_32_is_an_input_error():
    with pytest.raises(Mom4dInputError, match="^--max-resolution is 31"):
        SynthesisConfig(max_resolution=31)
