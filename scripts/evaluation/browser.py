"""Headless Chromium (Debian's `chromium`) driven through the Chrome DevTools protocol, and a static file server for
the pages it opens. WebGL runs on the software renderer (SwiftShader): there is no GPU for it."""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np
from websockets.sync.client import ClientConnection, connect

from mom_nerfstudio.errors import Mom4dInputError

CHROMIUM = Path("/usr/bin/chromium")
"""Where Debian's chromium package puts the browser."""

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # WebGL through the software renderer: there is no GPU for it.
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--remote-debugging-port=0",
)


def find_chromium(executable: Optional[Path] = None) -> Optional[Path]:
    """The Chromium executable (`executable`, else Debian's, else one on the PATH), or None when there is none."""
    candidates = [executable] if executable is not None else [CHROMIUM]
    if executable is None:
        candidates += [Path(found) for name in ("chromium", "chromium-browser") if (found := shutil.which(name))]
    return next((path for path in candidates if path is not None and path.is_file()), None)


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll `condition` until it holds; fail with a message naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class DevToolsPage:
    """One Chromium page, driven through the Chrome DevTools protocol over its websocket.

    Events that arrive while a command waits for its answer are kept in `events`; `errors()` reads the page's
    errors off them (uncaught exceptions, console.error, and failed loads), once `watch_errors()` turned them on.
    """

    def __init__(self, socket: ClientConnection, timeout: float) -> None:
        self._socket = socket
        self._timeout = timeout
        self._next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params: Any) -> dict:
        """Send one DevTools command and return its result (events arriving meanwhile are kept)."""
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=self._timeout))
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"Chromium could not {method}: {message['error']}")
                return message["result"]
            if "method" in message:
                self.events.append(message)

    def watch_errors(self) -> None:
        """Have Chromium report the page's console messages, exceptions and log entries."""
        self.call("Runtime.enable")
        self.call("Log.enable")

    def errors(self) -> list[str]:
        """The page's errors reported so far."""
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(str(details.get("exception", {}).get("description") or details.get("text")))
            elif event["method"] == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(" ".join(str(arg.get("value", arg.get("description"))) for arg in params.get("args", [])))
            elif event["method"] == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(str(params["entry"].get("text")))
        return found

    def open(self, url: str) -> None:
        """Load `url` in the page."""
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str, await_promise: bool = False) -> Any:
        """The value of a JavaScript expression in the page (of the promise it gives, with `await_promise`)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=await_promise)
        if "exceptionDetails" in result:
            raise RuntimeError(f"the page could not evaluate {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self) -> np.ndarray:
        """The page as an RGB uint8 HxWx3 array."""
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        return decode_png(data)


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes as an RGB uint8 HxWx3 array."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@contextlib.contextmanager
def headless_chromium(executable: Path, window_size: tuple[int, int], timeout: float) -> Iterator[DevToolsPage]:
    """A headless Chromium with a fresh profile, yielding its page; the browser and profile go away afterwards."""
    if not executable.is_file():
        raise Mom4dInputError(
            f"Chromium was not found at {executable}; install it (apt-get install -y chromium) or pass --chromium."
        )
    profile = Path(tempfile.mkdtemp(prefix="mom4d-chromium-"))
    width, height = window_size
    process = subprocess.Popen(
        [
            str(executable),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # With --remote-debugging-port=0, Chromium picks a port and writes it into the profile.
        port_file = profile / "DevToolsActivePort"
        wait_until(lambda: port_file.is_file() and port_file.read_text().count("\n") >= 1, timeout, "Chromium to start")
        port = int(port_file.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as response:
            target = next(target for target in json.load(response) if target["type"] == "page")
        with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=timeout) as socket:
            page = DevToolsPage(socket, timeout)
            page.call(
                "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
            )
            yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on a free local port, as `python -m http.server` does; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
