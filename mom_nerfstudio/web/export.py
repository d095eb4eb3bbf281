"""Export a trained loop as a self-contained web page: bake, fit the size budget, write the scene, the viewer and
the previews into one folder, which replaces the output folder only once complete."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from mom_nerfstudio.atomic import atomic_folder
from mom_nerfstudio.log import logger
from mom_nerfstudio.model import Mom4dModel
from mom_nerfstudio.web.bake import bake_loop
from mom_nerfstudio.web.budget import MEGABYTE, fit_to_budget
from mom_nerfstudio.web.camera import ViewLimits, WebCamera
from mom_nerfstudio.web.format import encode, write_scene
from mom_nerfstudio.web.page import check_output_folder, copy_viewer, viewer_bundle
from mom_nerfstudio.web.previews import render_loop, write_previews


@dataclass(frozen=True)
class WebOptions:
    """What shapes the exported page."""

    fps: float = 30.0
    frame_step: int = 2
    max_megabytes: float = 30.0
    previews: bool = True
    preview_width: int | None = None


@dataclass
class WebExport:
    """What an export wrote."""

    folder: Path
    scene_bytes: int
    gaussians: int
    moving: int
    poses: int
    given_up: list[str] = field(default_factory=list)
    previews: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def export_web(
    model: Mom4dModel,
    camera: WebCamera,
    limits: ViewLimits,
    output_dir: Path,
    options: WebOptions = WebOptions(),
    overwrite: bool = False,
) -> WebExport:
    """Write the page of `model`'s loop, opening at `camera` and moving within `limits`, into `output_dir`."""
    start = time.perf_counter()
    check_output_folder(output_dir, overwrite)
    viewer_bundle()
    model.eval()
    loop = bake_loop(model, camera, options.frame_step)
    fitted = fit_to_budget(loop, int(options.max_megabytes * MEGABYTE))
    for what in fitted.given_up:
        logger.warning(
            "To fit the scene within --max-megabytes %g, the page leaves out %s.", options.max_megabytes, what
        )
    header, sections = encode(
        fitted.loop, {"fps": options.fps, "camera": camera.header(), "view_limits": limits.header()}
    )
    with atomic_folder(output_dir) as folder:
        scene_bytes = write_scene(folder, header, sections)
        copy_viewer(folder)
        previews = []
        if options.previews:
            frames = render_loop(model, camera, options.preview_width)
            previews = [output_dir / path.name for path in write_previews(frames, folder, options.fps)]
    result = WebExport(
        folder=Path(output_dir),
        scene_bytes=scene_bytes,
        gaussians=fitted.loop.means.shape[0],
        moving=fitted.loop.moving,
        poses=len(fitted.loop.pose_frames),
        given_up=fitted.given_up,
        previews=previews,
        seconds=time.perf_counter() - start,
    )
    logger.info(
        "Wrote the page into %s: %d Gaussians (%d moving, %d poses), %.1f MB of scene data, in %.1f s. "
        "View it with: python -m http.server --directory %s",
        output_dir,
        result.gaussians,
        result.moving,
        result.poses,
        scene_bytes / MEGABYTE,
        result.seconds,
        output_dir,
    )
    return result
