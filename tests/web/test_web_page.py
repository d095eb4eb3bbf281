"""The exported page in headless Chromium (software WebGL): it loads without errors, its input view matches the model's
own render, mid-loop only the moving region changes, and the loop closes. Skipped where no Chromium is installed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from web_fixtures import seed_camera, textured_model

from evaluation.browser import find_chromium
from evaluation.metrics import psnr
from evaluation.web_page import ScenePage, open_scene_page
from mom_nerfstudio.web.camera import default_limits
from mom_nerfstudio.web.export import WebOptions, export_web

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found (Debian: apt-get install -y chromium, or bash scripts/install.sh as root)",
)
WIDTH = 512


@dataclass
class OpenPage:
    page: ScenePage
    model: torch.nn.Module

    def reference(self, loop_time: float, model: torch.nn.Module | None = None) -> np.ndarray:
        """The model's render of the input view at `loop_time`, as the page's canvas shows it (RGB in [0, 1])."""
        with torch.no_grad():
            rgb = (model or self.model).get_outputs_for_camera(seed_camera().cameras(WIDTH, time=loop_time))["rgb"]
        return rgb.numpy()


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenPage]:
    model = textured_model("contrast-preserving")
    camera = seed_camera()
    folder = tmp_path_factory.mktemp("web") / "page"
    export_web(model, camera, default_limits(camera), folder, WebOptions(frame_step=1, previews=False))
    with open_scene_page(folder, WIDTH, CHROMIUM) as page:
        yield OpenPage(page, model)


def test_the_page_loads_without_errors(opened: OpenPage) -> None:
    assert opened.page.render(0.0).shape == (384, WIDTH, 3)
    assert opened.page.errors() == []


def test_the_input_view_at_t0_matches_nerfstudios_render(opened: OpenPage) -> None:
    assert psnr(opened.page.render(0.0) / 255.0, opened.reference(0.0)) >= 25.0


@pytest.mark.parametrize("loop_time", [0.25, 0.5])
def test_mid_loop_the_contrast_preserving_blend_of_both_copies_matches_nerfstudios_render(
    opened: OpenPage, loop_time: float
) -> None:
    page = opened.page.render(loop_time) / 255.0
    linear_model = textured_model("linear")
    linear_model.load_state_dict(opened.model.state_dict())
    linear = opened.reference(loop_time, linear_model)
    blended = opened.reference(loop_time)
    assert psnr(page, blended) >= 25.0
    # The contrast the linear mix would lose is there: the page is much closer to the model's blend than to it.
    assert psnr(page, blended) >= psnr(page, linear) + 5.0


def test_mid_loop_only_the_moving_region_changes(opened: OpenPage) -> None:
    change = np.abs(opened.page.render(0.5).astype(int) - opened.page.render(0.0).astype(int)).max(axis=-1)
    # The seeds' left half moves up; the right half stands still (a margin for the footprints at the border).
    moving, still = change[:, : int(0.4 * WIDTH)], change[:, int(0.6 * WIDTH) :]
    assert moving.mean() > 5.0
    assert still.max() <= 1


def test_the_loop_ends_where_it_begins(opened: OpenPage) -> None:
    first = opened.page.render(0.0).astype(int)
    assert np.array_equal(opened.page.render(1.0), first)
    assert np.abs(opened.page.render(1.0 - 1e-4) - first).max() <= 2
    assert np.abs(opened.page.render(0.5) - first).max() > 20


def test_the_camera_stays_within_the_views_range_and_returns_to_the_input_view(opened: OpenPage) -> None:
    first = opened.page.render(0.0)
    browser = opened.page.browser
    limit = browser.evaluate("window.mom4d.camera.limits.orbit_degrees")
    browser.evaluate(
        "window.mom4d.camera.orbit(90, 45); window.mom4d.camera.pan(10, 0); window.mom4d.camera.zoomBy(50)"
    )
    camera = browser.evaluate("(({yaw, pitch, panX, zoom}) => ({yaw, pitch, panX, zoom}))(window.mom4d.camera)")
    assert np.hypot(camera["yaw"], camera["pitch"]) == pytest.approx(limit)
    assert camera["panX"] == pytest.approx(browser.evaluate("window.mom4d.camera.limits.pan"))
    assert camera["zoom"] == pytest.approx(browser.evaluate("window.mom4d.camera.limits.zoom[1]"))
    moved = opened.page.render(0.0)
    assert np.abs(moved.astype(int) - first.astype(int)).mean() > 5.0
    browser.evaluate("window.mom4d.resetView()")
    assert np.array_equal(opened.page.render(0.0), first)
