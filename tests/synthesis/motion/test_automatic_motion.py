import logging
from pathlib import Path

import numpy as np

from mom_nerfstudio.synthesis.motion.automatic import automatic_motion
from mom_nerfstudio.synthesis.motion.input import AutomaticSpeeds
from mom_nerfstudio.synthesis.previews import motion_overlay
from mom_nerfstudio.synthesis.segmentation import DoubtfulWater, SkyAndWater, WaterSearch

HEIGHT, WIDTH = 60, 100
FRAMES = 30
SPEEDS = AutomaticSpeeds(sky_drift=0.1, water_flow=0.2, calm_ripple=0.05)


def scene(calm_rows: slice = slice(40, 50), flowing_rows: slice = slice(50, 60), doubtful=()) -> SkyAndWater:
    sky = np.zeros((HEIGHT, WIDTH), dtype=bool)
    sky[:20] = True
    water, calm = np.zeros_like(sky), np.zeros_like(sky)
    water[calm_rows] = water[flowing_rows] = True
    calm[calm_rows] = True
    return SkyAndWater(sky=sky, water=WaterSearch(water=water, doubtful=tuple(doubtful), calm=calm))


def test_each_region_moves_its_own_way_at_its_share_of_the_frame():
    motion = automatic_motion(Path("photo.jpg"), scene(), SPEEDS, FRAMES)
    assert [region.name for region in motion.regions] == ["sky", "flowing water", "calm water"]
    sky_flow, flowing, calm = motion.flow[:20], motion.flow[50:], motion.flow[40:50]
    np.testing.assert_allclose(sky_flow[..., 0], 0.1 * WIDTH / FRAMES)
    assert not sky_flow[..., 1].any()
    np.testing.assert_allclose(flowing[..., 1], 0.2 * HEIGHT / FRAMES)
    assert not flowing[..., 0].any()
    # Calm water sways sideways in bands going both ways, never faster than its share, never up or down.
    assert not calm[..., 1].any()
    assert calm[..., 0].max() > 0 > calm[..., 0].min()
    assert np.abs(calm[..., 0]).max() <= 0.05 * WIDTH / FRAMES + 1e-6
    # Nothing else moves.
    assert not motion.flow[20:40].any() and not motion.mask[20:40].any()


def test_still_pixels_never_move(caplog):
    still = np.zeros((HEIGHT, WIDTH), dtype=bool)
    still[:, :30] = True
    with caplog.at_level(logging.INFO, logger="mom4d"):
        motion = automatic_motion(Path("photo.jpg"), scene(), SPEEDS, FRAMES, still=still)
    assert not motion.mask[:, :30].any() and not motion.flow[:, :30].any()
    assert "transparent and never moves" in caplog.text


def test_one_line_names_the_regions_and_says_what_stays_still(caplog):
    doubt = DoubtfulWater(fraction=0.05, centre=(0.5, 0.9), reason="it is smooth or hazy")
    with caplog.at_level(logging.INFO, logger="mom4d"):
        automatic_motion(Path("photo.jpg"), scene(doubtful=[doubt]), SPEEDS, FRAMES)
    line = next(record.getMessage() for record in caplog.records if "(automatic)" in record.getMessage())
    for words in ("sky, 33.3 % of the frame, drifts right 10 %", "flowing water", "calm water", "stays still"):
        assert words in line
    assert any(
        "Left still in photo.jpg" in record.getMessage() and "smooth" in record.getMessage()
        for record in caplog.records
    )
    assert "--segmentation learned" in caplog.text


def test_nothing_found_is_a_static_scene(caplog):
    empty = np.zeros((HEIGHT, WIDTH), dtype=bool)
    found = SkyAndWater(sky=empty, water=WaterSearch(water=empty, doubtful=()))
    with caplog.at_level(logging.INFO, logger="mom4d"):
        motion = automatic_motion(Path("photo.jpg"), found, SPEEDS, FRAMES)
    assert motion.is_static and "static scene" in caplog.text


def test_the_preview_outlines_and_names_the_regions():
    motion = automatic_motion(Path("photo.jpg"), scene(), SPEEDS, FRAMES)
    rgb = np.full((HEIGHT, WIDTH, 3), 0.3, dtype=np.float32)
    plain = motion_overlay(rgb, motion.flow, motion.mask, arrow_spacing=12)
    outlined = motion_overlay(rgb, motion.flow, motion.mask, arrow_spacing=12, regions=motion.regions)
    changed = np.any(plain != outlined, axis=2)
    assert changed[:22].any() and changed[38:].any()  # the sky's and the water's outlines and labels
