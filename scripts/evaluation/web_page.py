"""A page written by `mom4d-export web`, served locally and opened in headless Chromium: its renders at chosen loop
times, its errors, and its timings, through the `window.mom4d` object the page exposes."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.browser import DevToolsPage, decode_png, headless_chromium, serve_folder

CONTROLS_HEIGHT = 44
"""Pixels the page's control bar takes below the canvas (index.html)."""


@dataclass
class ScenePage:
    """An open scene page."""

    browser: DevToolsPage
    load_milliseconds: float
    """From the start of navigation until the first frame was rendered (its pixels readable)."""

    def render(self, loop_time: float) -> np.ndarray:
        """The canvas at `loop_time` (playback pauses) as RGB uint8 HxWx3."""
        url = self.browser.evaluate(f"window.mom4d.snapshot({float(loop_time)!r})")
        return decode_png(base64.b64decode(url.split(",", 1)[1]))

    def milliseconds_per_frame(self, frames: int) -> float:
        """Mean time to draw and finish one frame, over `frames` frames of the loop."""
        return float(self.browser.evaluate(f"window.mom4d.timeFrames({int(frames)})"))

    def errors(self) -> list[str]:
        """Errors the page reported so far."""
        return self.browser.errors()


def window_for(folder: Path, width: int) -> tuple[int, int]:
    """The browser window in which the page's canvas is `width` pixels wide at the input view's aspect."""
    camera = json.loads((Path(folder) / "scene.json").read_text())["camera"]
    return width, round(width * camera["height"] / camera["width"]) + CONTROLS_HEIGHT


@contextlib.contextmanager
def open_scene_page(folder: Path, width: int, chromium: Path, timeout: float = 120.0) -> Iterator[ScenePage]:
    """Serve `folder`, open its index.html in headless Chromium with a canvas `width` pixels wide, and wait until the
    page has drawn its first frame (or failed)."""
    with serve_folder(folder) as url, headless_chromium(chromium, window_for(folder, width), timeout) as browser:
        browser.watch_errors()
        browser.open(url + "index.html")
        deadline = time.monotonic() + timeout
        while not browser.evaluate("!!(window.mom4d && (window.mom4d.ready || window.mom4d.error))"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page did not draw its first frame within {timeout:.0f} s: {browser.errors()}")
            time.sleep(0.05)
        error = browser.evaluate("window.mom4d.error")
        if error:
            raise RuntimeError(f"the page failed: {error}")
        yield ScenePage(browser, float(browser.evaluate("window.mom4d.loadMilliseconds")))
