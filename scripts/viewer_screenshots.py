"""Check what a user sees in the nerfstudio viewer of a mom4d scene, with screenshots of the real page.

    python scripts/viewer_screenshots.py --load-config outputs/<photo>/mom4d/<timestamp>/config.yml \\
        --output-dir viewer_check

Loads the trained run, starts nerfstudio's viewer in this process and opens it in headless Chromium (Debian's
`chromium` package) driven through the Chrome DevTools protocol. Two checks:

- The default view: nothing is scripted; the page opens where the viewer puts a new browser, and once the viewer
  has rendered that view at full resolution, `default_view.png` is saved with how much of it shows the scene (the
  share of the render's pixels the Gaussians cover, and the share of the canvas that differs from the empty
  background). It fails when the scene covers less than half of the render.
- The Time slider: the training cameras are hidden, the camera is put at the input view, and for each time (0.0 and
  0.5 by default) the control panel's Time slider is set from Python; once the viewer has rendered that time at full
  resolution and the page shows it, `time_<t>.png` is saved. It fails if the scene regions of the two screenshots
  (the viewer's canvas outside the panels) are identical; `difference.png` shows where the scene changed (absolute
  difference times 8).

`summary.json` records the numbers.

Chromium needs WebGL for viser's canvas; without a GPU it uses its software renderer (SwiftShader).
"""

from __future__ import annotations

import json
import math
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np
import torch
import tyro
import viser.transforms as vtf
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.utils.eval_utils import eval_setup
from nerfstudio.viewer.viewer import VISER_NERFSTUDIO_SCALE_RATIO, Viewer

from dataparsers.dataset_format import InputCamera
from evaluation.browser import CHROMIUM, DevToolsPage, headless_chromium, wait_until
from mom_nerfstudio.camera_paths import run_dataset
from mom_nerfstudio.cli import load_run_config
from mom_nerfstudio.errors import INPUT_ERRORS, Mom4dInputError


@dataclass
class ViewerScreenshots:
    """Screenshots of the viewer at two loop times, proving that its Time slider animates the scene."""

    load_config: Path
    """config.yml of the trained run."""
    output_dir: Path = Path("viewer_check")
    """Folder for time_<t>.png and summary.json."""
    times: tuple[float, float] = (0.0, 0.5)
    """The two loop times to show."""
    chromium: Path = CHROMIUM
    """The Chromium executable (Debian: apt-get install chromium)."""
    window_size: tuple[int, int] = (1024, 768)
    """Browser window width and height in pixels."""
    timeout: float = 180.0
    """Seconds to wait for each step (page load, render, display) before failing."""


MIN_DEFAULT_VIEW_COVERAGE = 0.5
"""The share of the default view's render that the scene must cover."""


@dataclass
class FinishedRender:
    """A render the viewer completed: its loop time, resolution tier, camera position and the share it covers."""

    time: float
    state: str
    position: np.ndarray
    coverage: float
    """Share of the render's pixels that the Gaussians cover (accumulation above one half)."""
    background: np.ndarray
    """The RGB colour, in [0, 1], that empty pixels of the render show."""


class RenderProbe:
    """Records every render the viewer's render threads finish, by wrapping the model's render call."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.renders: list[FinishedRender] = []
        self._lock = threading.Lock()
        render = model.get_outputs_for_camera

        def recording_render(camera: Cameras, *args: Any, **kwargs: Any) -> Any:
            outputs = render(camera, *args, **kwargs)
            # The viewer renders in a RenderStateMachine thread, whose `state` says the resolution tier.
            state = getattr(threading.current_thread(), "state", "unknown")
            time_value = float(camera.times.reshape(-1)[0]) if camera.times is not None else math.nan
            position = camera.camera_to_worlds.reshape(-1, 3, 4)[0, :, 3].detach().cpu().numpy()
            coverage = float((outputs["accumulation"] > 0.5).float().mean())
            background = outputs["background"].reshape(-1, 3)[0].detach().cpu().numpy()
            with self._lock:
                self.renders.append(FinishedRender(time_value, state, position, coverage, background))
            return outputs

        model.get_outputs_for_camera = recording_render  # type: ignore[method-assign]

    def count(self) -> int:
        """Number of renders finished so far."""
        with self._lock:
            return len(self.renders)

    def finished_since(self, start: int) -> list[FinishedRender]:
        """Renders finished after the first `start` ones."""
        with self._lock:
            return self.renders[start:]


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_viewer(check: ViewerScreenshots) -> tuple[Viewer, RenderProbe, InputCamera]:
    """Load the run and start nerfstudio's viewer on it, as ns-viewer does; also the input camera.

    The model's `opening_view` is what puts a new browser at the default view, as in ns-viewer.
    """
    config = load_run_config(check.load_config)
    input_camera = run_dataset(config).input_camera()
    config, pipeline, _, step = eval_setup(check.load_config, test_mode="test")
    probe = RenderProbe(pipeline.model)
    config.viewer.websocket_host = "127.0.0.1"
    config.viewer.websocket_port = free_port()
    viewer = Viewer(
        config.viewer,
        log_filename=check.load_config.parent / config.viewer.relative_log_filename,
        datapath=pipeline.datamanager.get_datapath(),
        pipeline=pipeline,
        train_lock=threading.Lock(),
    )
    viewer.init_scene(
        train_dataset=pipeline.datamanager.train_dataset,
        train_state="completed",
        eval_dataset=pipeline.datamanager.eval_dataset,
    )
    viewer.update_scene(step=step)
    return viewer, probe, input_camera


def hide_training_cameras(viewer: Viewer) -> None:
    """Do what the "Hide Train Cams" button does: at the input view their frustums' images would cover the render."""
    viewer.set_camera_visibility(False)
    viewer.toggle_cameravis_button()


def point_client_at(viewer: Viewer, camera: InputCamera) -> np.ndarray:
    """Put every browser's camera at `camera` (pose and vertical fov); returns its position in nerfstudio units."""
    pose = camera.camera_to_world
    # viser cameras look along +z with y down (OpenCV); nerfstudio's along -z with y up.
    orientation = vtf.SO3.from_matrix(pose[:3, :3]) @ vtf.SO3.from_x_radians(np.pi)
    for client in viewer.viser_server.get_clients().values():
        with client.atomic():
            client.camera.position = pose[:3, 3] * VISER_NERFSTUDIO_SCALE_RATIO
            client.camera.wxyz = orientation.wxyz
            client.camera.fov = math.radians(camera.fov_degrees)
    return pose[:3, 3]


def scene_mask(browser: DevToolsPage, shape: tuple[int, int]) -> np.ndarray:
    """Pixels of the page that show the scene: the viewer's canvases, less the control panel and title bar over them."""
    rectangles = browser.evaluate(
        """(() => {
            const box = (element) => {
                const r = element.getBoundingClientRect();
                return [r.left, r.top, r.right, r.bottom];
            };
            return {
                canvases: [...document.querySelectorAll('canvas')].map(box),
                overlays: [...document.querySelectorAll('.mantine-Paper-root, header')].map(box),
            };
        })()"""
    )
    if not rectangles or not rectangles["canvases"]:
        raise RuntimeError("the viewer page has no canvas: it did not load")

    def pixels(rectangle: list[float]) -> tuple[slice, slice]:
        left, top, right, bottom = (max(int(round(value)), 0) for value in rectangle)
        return slice(top, bottom), slice(left, right)

    mask = np.zeros(shape, dtype=bool)
    for canvas in rectangles["canvases"]:
        mask[pixels(canvas)] = True
    for overlay in rectangles["overlays"]:
        mask[pixels(overlay)] = False
    return mask


@dataclass
class Screenshot:
    """A screenshot of the page, with the drawing-buffer sizes of its canvases when it was taken."""

    pixels: np.ndarray  # RGB uint8 HxWx3
    canvas_sizes: list[list[int]]


def take_screenshot(browser: DevToolsPage) -> Screenshot:
    """A screenshot with its canvas sizes (read just before; a change between the two shows as an unstable page)."""
    sizes = browser.evaluate("[...document.querySelectorAll('canvas')].map(c => [c.width, c.height])")
    return Screenshot(browser.screenshot(), sizes)


def wait_for_time(
    viewer: Viewer,
    probe: RenderProbe,
    browser: DevToolsPage,
    loop_time: float,
    position: np.ndarray,
    timeout: float,
    canvas_sizes: Optional[list[list[int]]] = None,
) -> Screenshot:
    """Set the Time slider, wait for the full-resolution render of that time and for the page to show it; screenshot.

    viser lowers its canvas resolution while the browser draws slowly (software WebGL) and raises it again later,
    which resamples the whole picture; `canvas_sizes` makes the wait go on until the canvases are at those sizes,
    so that two screenshots compare like with like.
    """
    start = probe.count()
    viewer.control_panel.time = loop_time

    def rendered() -> bool:
        return any(
            render.state == "high"
            and abs(render.time - loop_time) < 1e-6
            and np.allclose(render.position, position, atol=1e-4)
            for render in probe.finished_since(start)
        )

    wait_until(rendered, timeout, f"the viewer to render t = {loop_time} at full resolution")
    # The render reaches the page as an image message: wait until two screenshots in a row agree.
    previous = take_screenshot(browser)
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(0.5)
        current = take_screenshot(browser)
        settled = current.canvas_sizes == previous.canvas_sizes and np.array_equal(current.pixels, previous.pixels)
        if settled and (canvas_sizes is None or current.canvas_sizes == canvas_sizes):
            return current
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"timed out after {timeout:.0f} s waiting for the page to settle at t = {loop_time} "
                f"(canvas sizes {current.canvas_sizes}, wanted {canvas_sizes or 'any'})"
            )
        previous = current


@dataclass
class DefaultView:
    """The viewer as a new browser sees it: the screenshot and the render behind it."""

    screenshot: np.ndarray
    render: FinishedRender


def wait_for_default_view(viewer: Viewer, probe: RenderProbe, browser: DevToolsPage, timeout: float) -> DefaultView:
    """The default view once the viewer has rendered it at full resolution and the page shows it.

    Nothing is scripted: the browser stays where the viewer (the model's opening view) puts it.
    """
    opening = getattr(viewer.get_model(), "opening_view", None)
    expected = None if opening is None else opening.view.position

    def settled_render() -> Optional[FinishedRender]:
        for render in reversed(probe.finished_since(0)):
            if render.state == "high" and (expected is None or np.allclose(render.position, expected, atol=1e-4)):
                return render
        return None

    wait_until(
        lambda: settled_render() is not None, timeout, "the viewer to render its default view at full resolution"
    )
    render = settled_render()
    assert render is not None
    previous = take_screenshot(browser)
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(0.5)
        current = take_screenshot(browser)
        if current.canvas_sizes == previous.canvas_sizes and np.array_equal(current.pixels, previous.pixels):
            return DefaultView(current.pixels, render)
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for the page to settle at the default view")
        previous = current


def background_share(
    screenshot: np.ndarray, mask: np.ndarray, background: np.ndarray, tolerance: float = 12.0
) -> float:
    """Share of the page's scene pixels that show something other than the render's empty background colour."""
    distance = np.abs(screenshot.astype(np.float32) - 255.0 * background[None, None, :]).max(axis=-1)
    return float((distance[mask] > tolerance).mean())


def capture(check: ViewerScreenshots) -> tuple[DefaultView, dict[float, np.ndarray], np.ndarray]:
    """The default view, screenshots of the input view at each of `check.times`, and the page's scene pixels."""
    viewer, probe, input_camera = start_viewer(check)
    try:
        with headless_chromium(check.chromium, check.window_size, check.timeout) as browser:
            browser.open(f"http://127.0.0.1:{viewer.viser_server.get_port()}")
            wait_until(lambda: probe.count() > 0, check.timeout, "the page to connect and ask for a first render")
            default_view = wait_for_default_view(viewer, probe, browser, check.timeout)
            hide_training_cameras(viewer)
            position = point_client_at(viewer, input_camera)
            first_time, second_time = check.times
            first = wait_for_time(viewer, probe, browser, first_time, position, check.timeout)
            second = wait_for_time(viewer, probe, browser, second_time, position, check.timeout, first.canvas_sizes)
            mask = scene_mask(browser, first.pixels.shape[:2])
    finally:
        viewer.viser_server.stop()
    return default_view, {first_time: first.pixels, second_time: second.pixels}, mask


def compare(first: np.ndarray, second: np.ndarray, mask: np.ndarray) -> tuple[dict, np.ndarray]:
    """Differences between two screenshots inside and outside the scene mask, and a heat map of the scene's."""
    difference = np.abs(first.astype(np.float32) - second.astype(np.float32)).mean(axis=-1)
    summary = {
        "scene_pixels": int(mask.sum()),
        "mean_abs_difference": float(difference[mask].mean()),
        "changed_fraction": float((difference[mask] > 8).mean()),
        "difference_outside_scene": float(difference[~mask].mean()) if (~mask).any() else 0.0,
    }
    heat = cv2.applyColorMap(np.clip(difference * 8.0 * mask, 0, 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    return summary, heat


def run(check: ViewerScreenshots) -> dict:
    """Take the screenshots, compare them and write everything into the output folder; returns the summary."""
    if len(set(check.times)) != 2 or not all(0.0 <= loop_time < 1.0 for loop_time in check.times):
        raise Mom4dInputError(f"--times must be two different loop times in [0, 1), got {check.times}.")
    default_view, screenshots, mask = capture(check)
    summary, heat = compare(screenshots[check.times[0]], screenshots[check.times[1]], mask)
    summary = {
        "default_view": {
            "render_coverage": default_view.render.coverage,
            "canvas_showing_more_than_background": background_share(
                default_view.screenshot, mask, default_view.render.background
            ),
            "camera_position": default_view.render.position.tolist(),
        },
        "times": list(check.times),
        **summary,
    }
    check.output_dir.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(check.output_dir / "default_view.png"), cv2.cvtColor(default_view.screenshot, cv2.COLOR_RGB2BGR))
    for loop_time, image in screenshots.items():
        cv2.imwrite(str(check.output_dir / f"time_{loop_time:.2f}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(check.output_dir / "difference.png"), heat)
    (check.output_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def main() -> None:
    """Run the check from the command line; exit 1 when the two times look the same."""
    check = tyro.cli(ViewerScreenshots)
    try:
        summary = run(check)
    except INPUT_ERRORS as error:
        print(f"viewer_screenshots: {error}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(summary, indent=1))
    failures = []
    if summary["default_view"]["render_coverage"] < MIN_DEFAULT_VIEW_COVERAGE:
        failures.append("The default view shows little of the scene: the viewer does not open looking at it.")
    if summary["mean_abs_difference"] == 0.0:
        failures.append("The scene looks the same at both times: the Time slider did not animate it.")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
