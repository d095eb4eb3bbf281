"""Tests of the preview pictures and of the image and video writers."""

import colorsys
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from mom_nerfstudio.synthesis import previews
from mom_nerfstudio.synthesis.previews import (
    colorize_depth,
    contact_sheet,
    flow_to_color,
    motion_overlay,
    write_image,
    write_video,
)


def hsv_of(pixel: np.ndarray) -> tuple[float, float, float]:
    """Hue in degrees, saturation and value in [0, 1] of one uint8 RGB pixel."""
    hue, saturation, value = colorsys.rgb_to_hsv(*(pixel / 255.0))
    return hue * 360.0, saturation, value


def hue_distance(first: float, second: float) -> float:
    difference = abs(first - second) % 360.0
    return min(difference, 360.0 - difference)


def test_flow_to_color_gives_the_four_directions_four_distinct_hues():
    right, down, left, up = (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)
    colors = flow_to_color(np.array([[right, down, left, up]], dtype=np.float32), max_magnitude=1.0)[0]

    hues = [hsv_of(color)[0] for color in colors]
    for index, hue in enumerate(hues):
        for other in hues[index + 1 :]:
            assert hue_distance(hue, other) > 80.0
    np.testing.assert_array_equal(colors[0], [255, 0, 0])  # motion to the right is red
    assert all(hsv_of(color)[1] > 0.99 for color in colors)


def test_flow_to_color_shows_no_motion_as_white():
    colors = flow_to_color(np.zeros((2, 3, 2), dtype=np.float32), max_magnitude=1.0)

    assert colors.dtype == np.uint8 and colors.shape == (2, 3, 3)
    assert (colors == 255).all()


def test_flow_to_color_saturates_with_magnitude_up_to_the_maximum():
    speeds = [0.0, 0.25, 0.5, 1.0, 3.0]
    flow = np.array([[(0.0, -speed) for speed in speeds]], dtype=np.float32)
    colors = flow_to_color(flow, max_magnitude=1.0)[0]

    saturations = [hsv_of(color)[1] for color in colors]
    assert saturations[0] == pytest.approx(0.0, abs=0.01)
    assert saturations[1] == pytest.approx(0.25, abs=0.01)
    assert saturations[1] < saturations[2] < saturations[3]
    assert saturations[3] == pytest.approx(1.0, abs=0.01)
    np.testing.assert_array_equal(colors[4], colors[3])  # clipped beyond the maximum


def test_flow_to_color_saturates_at_the_largest_motion_by_default():
    flow = np.array([[(2.0, 0.0), (4.0, 0.0)]], dtype=np.float32)
    colors = flow_to_color(flow)[0]

    assert hsv_of(colors[0])[1] == pytest.approx(0.5, abs=0.01)
    assert hsv_of(colors[1])[1] == pytest.approx(1.0, abs=0.01)


def luma(pixel: np.ndarray) -> float:
    red, green, blue = pixel.astype(float)
    return 0.299 * red + 0.587 * green + 0.114 * blue


def test_colorize_depth_shows_near_bright_and_warm_far_dark():
    # Depth grows left to right from 1 (near) to 100 (far, like the sky).
    depth = np.tile(np.linspace(1.0, 100.0, 50, dtype=np.float32), (4, 1))
    picture = colorize_depth(depth)

    near, middle, far = picture[0, 0], picture[0, 10], picture[0, -1]
    assert picture.dtype == np.uint8 and picture.shape == (4, 50, 3)
    assert luma(near) > luma(middle) > luma(far)
    assert near[0] > near[2]  # warm: more red than blue
    assert luma(far) < 40


def test_colorize_depth_paints_invalid_and_unusable_depth_black():
    depth = np.full((3, 4), 5.0, dtype=np.float32)
    depth[0, 0], depth[0, 1], depth[0, 2] = np.nan, np.inf, 0.0
    depth[1, 0] = 2.0
    valid = np.ones((3, 4), dtype=bool)
    valid[2, 3] = False

    picture = colorize_depth(depth, valid)

    for row, column in [(0, 0), (0, 1), (0, 2), (2, 3)]:
        np.testing.assert_array_equal(picture[row, column], [0, 0, 0])
    assert luma(picture[1, 0]) > luma(picture[1, 1]) > 0


def test_colorize_depth_keeps_contrast_despite_an_outlier():
    depth = np.tile(np.linspace(2.0, 50.0, 200, dtype=np.float32), (2, 1))
    depth[0, 0] = 1e-6  # one absurdly near pixel

    picture = colorize_depth(depth)

    assert luma(picture[1, 0]) > 200  # the genuinely nearest pixels are still bright


def test_motion_overlay_colours_and_marks_only_the_masked_motion():
    rgb = np.full((120, 160, 3), 0.5, dtype=np.float32)
    mask = np.zeros((120, 160), dtype=bool)
    mask[30:90, 40:120] = True
    flow = np.zeros((120, 160, 2), dtype=np.float32)
    flow[mask] = (1.5, 0.0)

    picture = motion_overlay(rgb, flow, mask, arrow_spacing=16)

    assert picture.dtype == np.uint8 and picture.shape == (120, 160, 3)
    untouched = np.zeros_like(mask)
    untouched[30:90, :36] = True  # beside the mask (arrow outlines may spill a pixel or two), clear of the corners
    assert (picture[untouched] == 128).all()
    inside = picture[mask].astype(int)
    assert (inside[:, 0] > inside[:, 1] + 40).mean() > 0.5  # tinted red: motion to the right
    assert (inside.max(axis=1) < 60).any()  # dark arrows drawn inside the mask
    legend = picture[-30:, -30:].astype(int)
    assert (legend.max(axis=2) - legend.min(axis=2)).max() > 150  # saturated wheel colours


def test_motion_overlay_rejects_mismatched_sizes():
    with pytest.raises(ValueError):
        motion_overlay(np.zeros((10, 10, 3)), np.zeros((10, 12, 2)), np.zeros((10, 10), dtype=bool))


def test_contact_sheet_lays_tiles_on_a_grid_of_tile_width_cells():
    images = [
        np.full((40, 80, 3), 0.2, dtype=np.float32),  # 32 px tall at width 64
        np.full((64, 64, 3), 200, dtype=np.uint8),  # 64 px tall
        np.full((10, 20), 1.0, dtype=np.float32),  # gray, 32 px tall
        np.zeros((30, 60, 3), dtype=np.uint8),
        np.zeros((32, 32, 3), dtype=np.uint8),
    ]

    sheet = contact_sheet(images, columns=3, tile_width=64)

    assert sheet.shape == (2 * 64, 3 * 64, 3)
    np.testing.assert_array_equal(sheet[:32, :64], 51)  # first tile, at the top of its cell
    np.testing.assert_array_equal(sheet[32:64, :64], 0)  # the rest of its cell is black
    np.testing.assert_array_equal(sheet[:64, 64:128], 200)
    np.testing.assert_array_equal(sheet[64:, 128:], 0)  # unused last cell


def test_contact_sheet_with_fewer_images_than_columns_and_with_labels():
    images = [np.zeros((50, 100, 3), dtype=np.uint8)] * 2
    unlabelled = contact_sheet(images, columns=4, tile_width=100)
    labelled = contact_sheet(images, columns=4, labels=["depth", "motion"], tile_width=100)

    assert unlabelled.shape == labelled.shape == (50, 200, 3)
    assert labelled[:, :100].any() and labelled[:, 100:].any()  # each tile got its label
    with pytest.raises(ValueError):
        contact_sheet(images, columns=2, labels=["only one"])


def test_write_image_round_trips_rgb_through_png(tmp_path: Path):
    image = np.zeros((6, 8, 3), dtype=np.uint8)
    image[..., 0] = 255  # pure red, to catch a channel swap

    written = write_image(tmp_path / "red.png", image)

    assert written == tmp_path / "red.png"
    read_back = cv2.cvtColor(cv2.imread(str(written)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(read_back, image)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["red.png"]


def test_write_image_writes_float_images_as_jpeg(tmp_path: Path):
    image = np.full((16, 16, 3), 0.5, dtype=np.float32)

    written = write_image(tmp_path / "gray.jpg", image)

    read_back = cv2.imread(str(written))
    assert read_back.shape == (16, 16, 3)
    assert np.abs(read_back.astype(int) - 128).max() <= 2


def test_write_image_rejects_unknown_suffixes(tmp_path: Path):
    with pytest.raises(ValueError, match="png"):
        write_image(tmp_path / "picture.bmp", np.zeros((4, 4, 3), dtype=np.uint8))


def test_write_image_failing_midway_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "picture.png"
    target.write_bytes(b"old content")

    def write_then_fail(filename, image, params):
        Path(filename).write_bytes(b"half an image")
        raise RuntimeError("disk full")

    monkeypatch.setattr(previews.cv2, "imwrite", write_then_fail)
    with pytest.raises(RuntimeError):
        write_image(target, np.zeros((4, 4, 3), dtype=np.uint8))

    assert target.read_bytes() == b"old content"
    assert [path.name for path in tmp_path.iterdir()] == ["picture.png"]


def distinct_frames(count: int, height: int, width: int) -> list[np.ndarray]:
    return [np.full((height, width, 3), 20 * index, dtype=np.uint8) for index in range(count)]


def read_mp4_layout(path: Path) -> tuple[int, int, int]:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.grab():
        count += 1
    layout = count, int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    capture.release()
    return layout


def test_write_video_writes_an_mp4_with_every_frame(tmp_path: Path):
    frames = (frame / 255.0 for frame in distinct_frames(9, 32, 48))  # float frames, as a generator

    written = write_video(tmp_path / "clip.mp4", frames, fps=25.0)

    assert written == tmp_path / "clip.mp4"
    assert read_mp4_layout(written) == (9, 48, 32)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4"]


def test_write_video_pads_odd_sizes_to_even_for_mp4(tmp_path: Path):
    written = write_video(tmp_path / "odd.mp4", distinct_frames(4, 31, 45))

    assert read_mp4_layout(written) == (4, 46, 32)


def test_write_video_falls_back_to_a_looping_gif_without_mp4_codecs(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(previews, "_MP4_CODECS", ())

    with caplog.at_level(logging.WARNING, logger="mom4d"):
        written = write_video(tmp_path / "clip.mp4", distinct_frames(6, 24, 40), fps=10.0)

    assert written == tmp_path / "clip.gif"
    assert any("clip.gif" in record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
    with Image.open(written) as gif:
        assert (gif.n_frames, gif.size, gif.info["loop"]) == (6, (40, 24), 0)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.gif"]


def test_write_video_writes_a_gif_when_asked(tmp_path: Path):
    written = write_video(tmp_path / "clip.gif", distinct_frames(5, 20, 30), fps=20.0)

    assert written == tmp_path / "clip.gif"
    with Image.open(written) as gif:
        assert (gif.n_frames, gif.size, gif.info["duration"]) == (5, (30, 20), 50)


def test_write_video_failing_midway_leaves_no_file_behind(tmp_path, monkeypatch):
    def fail_while_checking(path):
        assert Path(path).exists()  # the encoded temporary file is there at this point
        raise RuntimeError("interrupted")

    monkeypatch.setattr(previews, "_read_video_layout", fail_while_checking)
    with pytest.raises(RuntimeError, match="interrupted"):
        write_video(tmp_path / "clip.mp4", distinct_frames(3, 16, 16))

    assert list(tmp_path.iterdir()) == []


def test_write_video_rejects_frames_of_different_sizes(tmp_path: Path):
    frames = distinct_frames(2, 16, 16) + distinct_frames(1, 8, 8)
    with pytest.raises(ValueError, match="one size"):
        write_video(tmp_path / "clip.mp4", frames)
