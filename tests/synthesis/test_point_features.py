"""Which pixels of the motion region move: not the fringe against still content, unless that stops a thin part."""

import numpy as np

from mom_nerfstudio.synthesis.point_features import MOTION_FRINGE_FRACTION, moving_pixels


def test_the_fringe_against_still_content_stays_still_and_the_image_border_does_not() -> None:
    mask = np.zeros((600, 1024), bool)
    mask[:200] = True  # a sky reaching the top, left and right borders of the image
    moving = moving_pixels(mask)
    fringe = round(MOTION_FRINGE_FRACTION * 1024)
    assert fringe >= 1
    assert not moving[200 - fringe : 200].any()  # the rim against the ground stays still
    assert moving[: 200 - fringe].all()  # including the rows and columns at the image's border
    assert not moving[200:].any()


def test_a_thin_part_of_the_region_keeps_moving() -> None:
    mask = np.zeros((600, 1024), bool)
    mask[400:404, 100:900] = True  # a stream a few pixels wide
    mask[:200] = True
    moving = moving_pixels(mask)
    assert moving[400:404, 100:900].all()
    assert not moving[199].any()


def test_a_small_image_moves_its_whole_region() -> None:
    mask = np.zeros((85, 128), bool)
    mask[:30] = True
    assert np.array_equal(moving_pixels(mask), mask)
