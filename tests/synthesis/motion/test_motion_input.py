import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import EXAMPLE_PHOTO

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.motion.input import AutomaticSpeeds
from mom_nerfstudio.synthesis.motion.sources import (
    MAX_SPEED_FRACTION,
    MotionInput,
    resolve_motion_input,
)

# The original photo is 200 x 100 (width x height); it is worked on at half resolution.
ORIGINAL_WIDTH, ORIGINAL_HEIGHT = 200, 100
SCALE = 0.5
WORKING_SHAPE = (50, 100)


@pytest.fixture
def rgb() -> np.ndarray:
    """A working image with nothing the automatic default would animate (textured grass)."""
    noise = np.random.default_rng(0).normal(0, 0.08, size=WORKING_SHAPE)[..., None]
    return np.clip(np.array([0.25, 0.5, 0.15]) + noise, 0, 1).astype(np.float32)


@pytest.fixture
def image_path(tmp_path: Path) -> Path:
    return tmp_path / "photo.jpg"


def polygon(label: str, points: list) -> dict:
    return {"label": label, "points": points, "shape_type": "polygon"}


def line(label: str, start: list, end: list) -> dict:
    return {"label": label, "points": [start, end], "shape_type": "line"}


RECTANGLE = polygon("motion", [[20, 20], [120, 20], [120, 80], [20, 80]])  # 100 x 60 original pixels
ARROW = line("hint", [50, 50], [100, 50])  # 50 original pixels to the right


def write_labelme(image_path: Path, shapes: list, width: float = ORIGINAL_WIDTH, height: float = ORIGINAL_HEIGHT):
    path = image_path.with_suffix(".json")
    path.write_text(json.dumps({"version": "5.2.1", "shapes": shapes, "imageWidth": width, "imageHeight": height}))
    return path


def write_flow(path: Path, shape: tuple[int, int], velocity: tuple[float, float]) -> Path:
    flow = np.zeros((*shape, 2), dtype=np.float32)
    flow[..., 0], flow[..., 1] = velocity
    np.save(path, flow)
    return path


def write_mask_and_hints(tmp_path: Path, arrows: list) -> tuple[Path, Path]:
    mask = np.zeros((ORIGINAL_HEIGHT, ORIGINAL_WIDTH), dtype=np.uint8)
    mask[20:80, 20:120] = 255
    mask_path = tmp_path / "mask.png"
    cv2.imwrite(str(mask_path), mask)
    hints_path = tmp_path / "hints.json"
    hints_path.write_text(json.dumps(arrows))
    return mask_path, hints_path


def resolve(image_path: Path, rgb: np.ndarray, **options) -> MotionInput:
    return resolve_motion_input(image_path, rgb, SCALE, **options)


# --- labelme -------------------------------------------------------------------------------------------------


def test_labelme_annotation_is_converted_to_the_working_resolution(image_path, rgb):
    write_labelme(image_path, [RECTANGLE, ARROW])
    motion = resolve(image_path, rgb)
    assert motion.source == "labelme annotation photo.json"
    assert motion.mask.shape == WORKING_SHAPE and motion.mask.dtype == bool
    assert motion.mask.sum() == pytest.approx(50 * 30, rel=0.02)
    assert motion.mask[25, 35] and not motion.mask[5, 5] and not motion.mask[25, 70]
    # 50 px at the original resolution, * 0.5 to the working one, over 50 frames.
    np.testing.assert_allclose(motion.hint_velocities, [[50 * 0.5 / 50, 0.0]], atol=1e-6)
    # Pixel centres map as (p + 0.5) * 0.5 - 0.5.
    np.testing.assert_allclose(motion.hint_starts, [[24.75, 24.75]], atol=1e-6)
    assert motion.hint_starts.dtype == np.float32 and motion.flow is None and not motion.is_static


def test_labelme_labels_are_matched_by_prefix_and_other_labels_ignored(image_path, rgb):
    shapes = [
        polygon("motion_water", [[20, 20], [120, 20], [120, 80], [20, 80]]),
        polygon("tree", [[150, 10], [190, 10], [190, 90]]),
        line("hint2", [50, 50], [50, 75]),
        line("horizon", [0, 30], [200, 30]),
    ]
    write_labelme(image_path, shapes)
    motion = resolve(image_path, rgb, hint_frames=25.0)
    assert not motion.mask[:, 80:].any()
    np.testing.assert_allclose(motion.hint_velocities, [[0.0, 25 * 0.5 / 25]], atol=1e-6)


def test_labelme_annotation_drawn_on_a_resized_copy_uses_its_image_size(image_path, rgb):
    # The same rectangle and arrow, drawn on a 400 x 200 copy.
    shapes = [polygon("motion", [[40, 40], [240, 40], [240, 160], [40, 160]]), line("hint", [100, 100], [200, 100])]
    write_labelme(image_path, shapes, width=400, height=200)
    motion = resolve(image_path, rgb)
    assert motion.mask.sum() == pytest.approx(50 * 30, rel=0.02)
    np.testing.assert_allclose(motion.hint_velocities, [[100 * 0.25 / 50, 0.0]], atol=1e-6)


def test_hints_starting_outside_the_image_are_dropped_with_a_warning(image_path, rgb, caplog):
    write_labelme(image_path, [RECTANGLE, ARROW, line("hint", [250, 50], [260, 50]), line("hint", [5, -3], [5, 5])])
    with caplog.at_level(logging.WARNING, logger="mom4d"):
        motion = resolve(image_path, rgb)
    assert len(motion.hint_starts) == 1
    assert "2 of 3 hint(s)" in caplog.text and "photo.json" in caplog.text


@pytest.mark.parametrize(
    "shapes, reason",
    [
        ([ARROW], "no 'motion' polygon"),
        ([polygon("motion", [[20, 20], [120, 20], [70, 20]]), ARROW], "no 'motion' polygon"),  # zero area
        ([RECTANGLE], "no hint arrow"),
        ([RECTANGLE, line("hint", [250, 50], [260, 50])], "no hint arrow"),  # its only hint dropped
    ],
)
def test_labelme_annotation_where_nothing_moves_is_a_static_scene_with_a_warning(
    image_path, rgb, caplog, shapes, reason
):
    write_labelme(image_path, shapes)
    with caplog.at_level(logging.WARNING, logger="mom4d"):
        motion = resolve(image_path, rgb)
    assert motion.is_static and len(motion.hint_starts) == 0
    assert "static scene" in caplog.text and reason in caplog.text


def test_labelme_rectangles_are_motion_regions(image_path, rgb):
    rectangle = {"label": "motion", "points": [[120, 80], [20, 20]], "shape_type": "rectangle"}
    write_labelme(image_path, [rectangle, ARROW])
    assert resolve(image_path, rgb).mask.sum() == pytest.approx(50 * 30, rel=0.02)


def test_malformed_labelme_json_names_the_line_and_column(image_path, rgb):
    image_path.with_suffix(".json").write_text('{\n  "shapes": [\n    {"label": "motion",, }\n  ]\n}')
    with pytest.raises(Mom4dInputError, match=r"photo\.json: malformed JSON at line 3, column 24"):
        resolve(image_path, rgb)


@pytest.mark.parametrize(
    "document, message",
    [
        ({"imageWidth": 200, "imageHeight": 100}, r"no 'shapes' field"),
        ({"shapes": {"label": "motion"}}, r"'shapes' must be a list"),
        ({"shapes": [RECTANGLE, {"points": [[0, 0], [1, 1], [0, 1]]}]}, r"shapes\[1\] has no 'label'"),
        ({"shapes": [{"label": "motion"}]}, r"shapes\[0\] has no 'points'"),
        ({"shapes": [RECTANGLE, ARROW, polygon("motion", [[0, 0], [5, 5]])]}, r"shapes\[2\]\.points: .*at least 3"),
        ({"shapes": [RECTANGLE, {**ARROW, "points": [[0, 0], [5, 5], [9, 9]]}]}, r"shapes\[1\]\.points: .*exactly 2"),
        ({"shapes": [polygon("motion", [[0, 0], ["ten", 5], [9, 9]])]}, r"shapes\[0\]\.points must be a list of"),
        ({"shapes": [polygon("motion", [[0, 0], [5, None], [9, 9]])]}, r"shapes\[0\]\.points must be a list of"),
        ({"shapes": [{**ARROW, "shape_type": "polygon"}]}, r"shapes\[0\]\.shape_type: a hint must be a line"),
        ({"shapes": [{**RECTANGLE, "shape_type": "circle"}]}, r"shapes\[0\]\.shape_type: a motion region must be"),
        ([RECTANGLE, ARROW], r"expected a labelme annotation"),
        ({"shapes": [], "imageWidth": 100, "imageHeight": 100}, r"aspect ratio"),
        ({"shapes": [], "imageWidth": "wide", "imageHeight": 100}, r"imageWidth must be a positive number"),
    ],
)
def test_invalid_labelme_annotations_are_named_in_the_error(image_path, rgb, document, message):
    image_path.with_suffix(".json").write_text(json.dumps(document))
    with pytest.raises(Mom4dInputError, match=message) as error:
        resolve(image_path, rgb)
    assert "photo.json" in str(error.value)


@pytest.mark.parametrize(
    "shapes, where, point",
    [
        ([RECTANGLE, polygon("motion", [[20, 20], [1e30, 20], [120, 80]]), ARROW], "shapes[1]", "(1e+30, 20)"),
        ([polygon("motion", [[20, 20], [120, 20], [120, -1e30]]), ARROW], "shapes[0]", "(120, -1e+30)"),
        ([RECTANGLE, line("hint", [50, 50], [50, 11 * ORIGINAL_HEIGHT + 1])], "shapes[1]", "(50, 1101)"),
        (
            [RECTANGLE, ARROW, polygon("tree", [[0, 0], [-10 * ORIGINAL_WIDTH - 1, 0], [0, 9]])],
            "shapes[2]",
            "(-2001, 0)",
        ),
    ],
)
def test_labelme_points_far_outside_the_image_are_refused_naming_the_shape(image_path, rgb, shapes, where, point):
    annotation = write_labelme(image_path, shapes)
    with pytest.raises(Mom4dInputError) as error:
        resolve(image_path, rgb)
    assert str(error.value) == (
        f"{annotation}: {where} has a point at {point}, far outside the 200 x 100 image (more than 10 times its size "
        "beyond its edge); fix or delete the shape in labelme."
    )


def test_labelme_polygons_reaching_outside_the_image_are_cut_at_its_edge(image_path, rgb):
    # A rectangle from x = 120 to 10 widths left of the image, and from y = 20 to 10 heights below it: the farthest
    # points accepted. Inside the image, everything from x = 0 to 120 and from y = 20 down moves.
    left, bottom = -10 * ORIGINAL_WIDTH, 11 * ORIGINAL_HEIGHT
    reaching = polygon("motion", [[left, 20], [120, 20], [120, bottom], [left, bottom]])
    write_labelme(image_path, [reaching, ARROW])
    mask = resolve(image_path, rgb).mask
    assert mask[10:, :60].all() and not mask[:10].any() and not mask[:, 60:].any()


def test_labelme_annotation_without_image_size_is_taken_at_the_original_resolution(image_path, rgb):
    image_path.with_suffix(".json").write_text(json.dumps({"shapes": [RECTANGLE, ARROW]}))
    motion = resolve(image_path, rgb)
    assert motion.mask.sum() == pytest.approx(50 * 30, rel=0.02)
    np.testing.assert_allclose(motion.hint_velocities, [[0.5, 0.0]], atol=1e-6)


# --- explicit mask, hints, flow -----------------------------------------------------------------------------


def test_mask_and_hints_files_are_converted_to_the_working_resolution(tmp_path, image_path, rgb):
    mask_path, hints_path = write_mask_and_hints(tmp_path, [[50, 50, 50, 100], [300, 10, 310, 10]])
    motion = resolve(image_path, rgb, motion_mask=mask_path, hints=hints_path)
    assert motion.source == "motion mask mask.png with hints hints.json"
    assert motion.mask.sum() == pytest.approx(50 * 30, rel=0.02)
    np.testing.assert_allclose(motion.hint_velocities, [[0.0, 0.5]], atol=1e-6)  # the second starts outside


def test_a_mask_at_another_resolution_is_resized_with_nearest(tmp_path, image_path, rgb):
    mask = np.zeros((20, 40), dtype=np.uint8)
    mask[:, :20] = 1  # the left half
    cv2.imwrite(str(tmp_path / "small_mask.png"), mask)
    _, hints_path = write_mask_and_hints(tmp_path, [[50, 50, 60, 50]])
    motion = resolve(image_path, rgb, motion_mask=tmp_path / "small_mask.png", hints=hints_path)
    assert motion.mask[:, :50].all() and not motion.mask[:, 50:].any()


def test_a_mask_without_hints_or_hints_without_a_mask_is_an_error(tmp_path, image_path, rgb):
    mask_path, hints_path = write_mask_and_hints(tmp_path, [[50, 50, 60, 50]])
    with pytest.raises(Mom4dInputError, match="without hints.*--hints.*--flow"):
        resolve(image_path, rgb, motion_mask=mask_path)
    with pytest.raises(Mom4dInputError, match="without a motion mask.*--motion-mask"):
        resolve(image_path, rgb, hints=hints_path)


@pytest.mark.parametrize(
    "hints_text, message",
    [
        ("[[50, 50, 60, 50]", r"hints\.json: malformed JSON at line 1"),
        ('{"arrows": []}', r"hints\.json: expected a JSON list of arrows"),
        ("[[50, 50, 60, 50], [1, 2, 3]]", r"hints\.json: \[1\] must be an arrow"),
        ('[[50, 50, 60, "x"]]', r"hints\.json: \[0\] must be an arrow"),
    ],
)
def test_invalid_hints_files_are_named_in_the_error(tmp_path, image_path, rgb, hints_text, message):
    mask_path, hints_path = write_mask_and_hints(tmp_path, [])
    hints_path.write_text(hints_text)
    with pytest.raises(Mom4dInputError, match=message):
        resolve(image_path, rgb, motion_mask=mask_path, hints=hints_path)


def test_an_empty_mask_file_or_a_zero_flow_is_a_static_scene_with_a_warning(tmp_path, image_path, rgb, caplog):
    _, hints_path = write_mask_and_hints(tmp_path, [[50, 50, 60, 50]])
    cv2.imwrite(str(tmp_path / "empty.png"), np.zeros((100, 200), dtype=np.uint8))
    zero_flow = write_flow(tmp_path / "zero.npy", (50, 100), (0.0, 0.0))
    with caplog.at_level(logging.WARNING, logger="mom4d"):
        assert resolve(image_path, rgb, motion_mask=tmp_path / "empty.png", hints=hints_path).is_static
        assert resolve(image_path, rgb, flow=zero_flow).is_static
    assert "empty.png is empty: static scene" in caplog.text and "zero.npy is zero everywhere" in caplog.text


def test_a_mask_of_another_aspect_ratio_is_an_error(tmp_path, image_path, rgb):
    _, hints_path = write_mask_and_hints(tmp_path, [[50, 50, 60, 50]])
    cv2.imwrite(str(tmp_path / "square.png"), np.full((100, 100), 255, dtype=np.uint8))
    with pytest.raises(Mom4dInputError, match=r"square\.png is 100 x 100.*aspect ratio"):
        resolve(image_path, rgb, motion_mask=tmp_path / "square.png", hints=hints_path)


def test_a_flow_is_resized_with_its_vectors_and_masked_where_it_moves(tmp_path, image_path, rgb):
    flow = np.zeros((ORIGINAL_HEIGHT, ORIGINAL_WIDTH, 2), dtype=np.float32)
    flow[:, 100:] = [2.0, -1.0]  # the right half moves
    np.save(tmp_path / "flow.npy", flow)
    motion = resolve(image_path, rgb, flow=tmp_path / "flow.npy")
    assert motion.source == "flow flow.npy"
    assert motion.flow.shape == (*WORKING_SHAPE, 2) and motion.flow.dtype == np.float32
    np.testing.assert_allclose(motion.flow[:, 60:], np.broadcast_to([1.0, -0.5], (50, 40, 2)), atol=1e-6)
    assert motion.mask[:, 60:].all() and not motion.mask[:, :45].any()
    assert not motion.flow[~motion.mask].any() and len(motion.hint_starts) == 0


@pytest.mark.parametrize("shape", [(100, 200), (100, 200, 3), (100, 100, 2), (2, 100, 200)])
def test_a_flow_of_the_wrong_shape_is_an_error_naming_both_shapes(tmp_path, image_path, rgb, shape):
    np.save(tmp_path / "flow.npy", np.zeros(shape, dtype=np.float32))
    expected = r"expected \(H, W, 2\) with the photo's aspect ratio \(the photo is 200 x 100 \(width x height\)\)"
    with pytest.raises(Mom4dInputError, match=rf"has shape \({shape[0]}, {shape[1]}.*{expected}"):
        resolve(image_path, rgb, flow=tmp_path / "flow.npy")


def test_a_flow_with_nan_is_an_error(tmp_path, image_path, rgb):
    flow = np.zeros((50, 100, 2), dtype=np.float32)
    flow[3, 4, 0] = np.nan
    np.save(tmp_path / "flow.npy", flow)
    with pytest.raises(Mom4dInputError, match="1 NaN"):
        resolve(image_path, rgb, flow=tmp_path / "flow.npy")


def test_missing_files_are_errors(tmp_path, image_path, rgb):
    with pytest.raises(Mom4dInputError, match="nowhere.npy not found"):
        resolve(image_path, rgb, flow=tmp_path / "nowhere.npy")
    with pytest.raises(Mom4dInputError, match="nowhere.png not found"):
        resolve(image_path, rgb, motion_mask=tmp_path / "nowhere.png", hints=tmp_path / "hints.json")


# --- precedence and the automatic default -------------------------------------------------------------------


def test_mode_none_wins_over_every_source(tmp_path, image_path, rgb):
    write_labelme(image_path, [RECTANGLE, ARROW])
    flow = write_flow(tmp_path / "flow.npy", (50, 100), (1.0, 0.0))
    motion = resolve(image_path, rgb, mode="none", flow=flow)
    assert motion.is_static and motion.source.startswith("none")


def test_labelme_annotation_wins_over_explicit_files_with_a_warning(tmp_path, image_path, rgb, caplog):
    write_labelme(image_path, [RECTANGLE, ARROW])
    mask_path, hints_path = write_mask_and_hints(tmp_path, [[50, 50, 50, 100]])
    flow = write_flow(tmp_path / "flow.npy", (50, 100), (1.0, 0.0))
    with caplog.at_level(logging.INFO, logger="mom4d"):
        motion = resolve(image_path, rgb, motion_mask=mask_path, hints=hints_path, flow=flow)
    assert motion.source == "labelme annotation photo.json"
    assert "Ignoring --motion-mask, --hints, --flow" in caplog.text
    assert "Motion: labelme annotation" in caplog.text


def test_mask_and_hints_win_over_a_flow(tmp_path, image_path, rgb, caplog):
    mask_path, hints_path = write_mask_and_hints(tmp_path, [[50, 50, 50, 100]])
    flow = write_flow(tmp_path / "flow.npy", (50, 100), (1.0, 0.0))
    with caplog.at_level(logging.WARNING, logger="mom4d"):
        motion = resolve(image_path, rgb, motion_mask=mask_path, hints=hints_path, flow=flow)
    assert motion.source.startswith("motion mask") and motion.flow is None
    assert "Ignoring --flow" in caplog.text


def test_a_flow_wins_over_the_automatic_default(tmp_path, image_path, rgb):
    motion = resolve(image_path, rgb, flow=write_flow(tmp_path / "flow.npy", (50, 100), (1.0, 0.0)))
    assert motion.source == "flow flow.npy"


def test_automatic_default_drifts_the_sky_sideways_and_says_how_to_choose(image_path, caplog):
    height, width = 64, 128
    sky_rows = 24
    rgb = np.empty((height, width, 3), dtype=np.float32)
    rgb[:sky_rows] = [0.35, 0.55, 0.9]
    rgb[sky_rows:] = np.clip(
        np.array([0.25, 0.5, 0.15]) + np.random.default_rng(1).normal(0, 0.08, (height - sky_rows, width, 1)), 0, 1
    )
    with caplog.at_level(logging.INFO, logger="mom4d"):
        motion = resolve_motion_input(image_path, rgb, 1.0)
    assert motion.source == "automatic (sky)"
    assert motion.mask[: sky_rows - 2].all() and not motion.mask[sky_rows + 2 :].any()
    # Stated as a share of the frame's width per loop, converted to pixels per frame of this 128-px image.
    config = SynthesisConfig()
    expected_speed = config.auto_sky_drift * width / config.num_frames
    np.testing.assert_allclose(
        motion.flow[motion.mask], np.tile([expected_speed, 0.0], (motion.mask.sum(), 1)), rtol=1e-5
    )
    assert not motion.flow[~motion.mask].any()
    assert [region.name for region in motion.regions] == ["sky"]
    assert "sky, " in caplog.text and "drifts right 10 % of the frame per loop" in caplog.text
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any(
        "photo.json" not in message
        and "--motion-mask" in message
        and "--flow" in message
        and "--motion none" in message
        and "labelme" in message
        for message in warnings
    )


def test_automatic_default_with_nothing_to_animate_is_a_static_scene(image_path, rgb, caplog):
    with caplog.at_level(logging.WARNING, logger="mom4d"):
        motion = resolve(image_path, rgb)
    assert motion.is_static and "static scene" in caplog.text


def test_automatic_default_moves_the_sky_and_the_water_of_the_tiny_landscape(landscape, image_path):
    motion = resolve_motion_input(image_path, landscape.rgb(), 1.0)
    assert motion.source == "automatic (sky, flowing water)"
    water_rows = slice(landscape.water_top_row + 2, None)
    assert motion.mask[: landscape.horizon_row - 2].all() and motion.mask[water_rows].mean() > 0.9
    assert not motion.mask[landscape.horizon_row + 2 : landscape.water_top_row - 2].any()  # the grass stays
    in_water = motion.mask[water_rows]
    water_flow = motion.flow[water_rows][in_water]
    assert np.all(water_flow[:, 0] == 0.0) and np.all(water_flow[:, 1] > 0.0)  # water flows down the image
    sky_flow = motion.flow[: landscape.horizon_row - 2]
    assert np.all(sky_flow[..., 0] > 0.0) and np.all(sky_flow[..., 1] == 0.0)  # the sky drifts right


def test_automatic_default_leaves_a_doubtful_region_still_and_says_how_to_animate_it(image_path, caplog):
    height, width = 64, 128
    rgb = np.empty((height, width, 3), dtype=np.float32)
    rgb[:20] = [0.35, 0.55, 0.9]
    rgb[20:] = np.clip(
        np.array([0.25, 0.5, 0.15]) + np.random.default_rng(2).normal(0, 0.08, (height - 20, width, 1)), 0, 1
    )
    rgb[36:, 30:90] = [0.50, 0.55, 0.62]  # a smooth slab of a water's colour: a road, or a calm pond?
    with caplog.at_level(logging.WARNING, logger="mom4d"):
        motion = resolve_motion_input(image_path, rgb, 1.0)
    assert motion.source == "automatic (sky)" and not motion.mask[36:, 30:90].any()
    doubts = [record.getMessage() for record in caplog.records if "Left still in photo.jpg" in record.getMessage()]
    assert len(doubts) == 1
    assert "smooth" in doubts[0] and "labelled 'motion'" in doubts[0] and "photo.json" in doubts[0]


def test_unknown_mode_is_an_error(image_path, rgb):
    with pytest.raises(Mom4dInputError, match="Unknown motion mode 'wind'"):
        resolve(image_path, rgb, mode="wind")


def test_transparent_pixels_are_never_animated_by_the_automatic_default(image_path):
    height, width = 64, 128
    rgb = np.empty((height, width, 3), dtype=np.float32)
    rgb[:24] = [0.35, 0.55, 0.9]
    rgb[24:] = np.clip(
        np.array([0.25, 0.5, 0.15]) + np.random.default_rng(1).normal(0, 0.08, (height - 24, width, 1)), 0, 1
    )
    still = np.zeros((height, width), dtype=bool)
    still[:, 64:] = True  # the right half was transparent
    assert resolve_motion_input(image_path, rgb, 1.0).mask[:20, 64:].all()
    motion = resolve_motion_input(image_path, rgb, 1.0, still=still)
    assert not motion.mask[still].any() and motion.mask[:20, :64].all()
    columns, rows = motion.hint_starts.astype(int).T
    assert not still[rows, columns].any()


def test_aspect_ratio_errors_give_the_photos_size(tmp_path, image_path, rgb):
    _, hints_path = write_mask_and_hints(tmp_path, [[50, 50, 60, 50]])
    cv2.imwrite(str(tmp_path / "square.png"), np.full((100, 100), 255, dtype=np.uint8))
    with pytest.raises(Mom4dInputError, match=r"the photo is 2000 x 1000 \(width x height\)") as error:
        resolve(image_path, rgb, motion_mask=tmp_path / "square.png", hints=hints_path, photo_size=(1000, 2000))
    assert "100 x 50" not in str(error.value) and "working" not in str(error.value)
    write_labelme(image_path, [RECTANGLE, ARROW], width=100, height=100)
    with pytest.raises(Mom4dInputError, match=r"photo\.json: .*the photo is 200 x 100 \(width x height\)"):
        resolve(image_path, rgb)


# --- plausible speeds ---------------------------------------------------------------------------------------


def test_an_absurdly_fast_flow_is_refused_with_one_clear_message(tmp_path, image_path, rgb):
    flow = write_flow(tmp_path / "flow.npy", (50, 100), (1e6, 0.0))
    expected = r"--flow .*flow\.npy: the fastest motion is 1e\+06 px per frame, 1e\+06 % of the image's long side"
    with pytest.raises(Mom4dInputError, match=expected) as error:
        resolve(image_path, rgb, flow=flow)
    assert "(100 px)" in str(error.value) and "not plausible" in str(error.value)
    assert "pixels per frame" in str(error.value) and "\n" not in str(error.value)


def test_an_overflowing_flow_is_refused(tmp_path, image_path, rgb):
    np.save(tmp_path / "flow.npy", np.full((50, 100, 2), 1e300))  # becomes infinite in float32
    with pytest.raises(Mom4dInputError, match="not plausible"):
        resolve(image_path, rgb, flow=tmp_path / "flow.npy")


@pytest.mark.parametrize("flow_shape", [(100, 200), (25, 50)])
def test_the_speed_limit_is_a_fraction_of_the_long_side_at_any_resolution(tmp_path, image_path, rgb, flow_shape):
    limit = MAX_SPEED_FRACTION * flow_shape[1]  # px per frame at the flow's own resolution
    resolve(image_path, rgb, flow=write_flow(tmp_path / "slow.npy", flow_shape, (0.0, 0.98 * limit)))
    with pytest.raises(Mom4dInputError, match="not plausible"):
        resolve(image_path, rgb, flow=write_flow(tmp_path / "fast.npy", flow_shape, (0.0, 1.02 * limit)))


def test_arrows_made_too_fast_by_hint_frames_are_refused_naming_the_option(image_path, rgb):
    write_labelme(image_path, [RECTANGLE, ARROW])  # 50 px on the 200 px photo
    resolve(image_path, rgb, hint_frames=5.5)  # 9.1 px per frame: 4.5 % of the long side, under the limit
    with pytest.raises(Mom4dInputError, match=r"photo\.json: the fastest motion is 50 px per frame") as error:
        resolve(image_path, rgb, hint_frames=1.0)
    assert "--hint-frames (now 1" in str(error.value)


def test_too_fast_arrows_of_a_hints_file_are_refused(tmp_path, image_path, rgb):
    mask_path, hints_path = write_mask_and_hints(tmp_path, [[50, 50, 50, 95], [60, 60, 60, 60 + 5000]])
    with pytest.raises(Mom4dInputError, match=r"hint arrows of .*hints\.json: the fastest motion is 100 px per frame"):
        resolve(image_path, rgb, motion_mask=mask_path, hints=hints_path)


def test_a_too_fast_automatic_speed_is_refused(image_path):
    rgb = np.empty((64, 128, 3), dtype=np.float32)
    rgb[:24] = [0.35, 0.55, 0.9]
    rgb[24:] = np.clip(np.array([0.25, 0.5, 0.15]) + np.random.default_rng(1).normal(0, 0.08, (40, 128, 1)), 0, 1)
    with pytest.raises(Mom4dInputError, match="automatic motion"):
        resolve_motion_input(
            image_path, rgb, 1.0, auto_speeds=AutomaticSpeeds(sky_drift=10.0, water_flow=0.1, calm_ripple=0.0)
        )


def test_real_annotations_are_far_below_the_speed_limit():
    from mom_nerfstudio.synthesis.image_io import load_image

    photo = EXAMPLE_PHOTO
    image = load_image(photo, max_resolution=256)
    motion = resolve_motion_input(photo, image.rgb, image.scale, photo_size=image.original_size)
    assert motion.source == "labelme annotation forest_stream.json" and len(motion.hint_velocities) > 20
    fastest = np.linalg.norm(motion.hint_velocities, axis=1).max() / max(image.rgb.shape[:2])
    assert 0 < fastest < MAX_SPEED_FRACTION / 20
