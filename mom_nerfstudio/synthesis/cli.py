"""`mom4d-synthesize photo.jpg -o out/`: run the synthesis without training and write previews.

Writes `depth.png`, `motion.png` (the input view's motion as a colour wheel over the photo), `views.jpg` (a
contact sheet of the views), `loop.mp4` (the input view's looping video; a gif where mp4 cannot be
written), `summary.json`, and `dataset/`: the frames as a nerfstudio `transforms.json` with a time per frame.
The previews are built in a temporary folder beside the output folder and moved into place when complete, so an
interrupted run leaves no half-written output (and the next run removes what it left).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import tyro

from dataparsers.dataset_format import SynthesizedDataset
from mom_nerfstudio.atomic import atomic_folder, check_can_create_in, nearest_existing, remove_stale_partials
from mom_nerfstudio.command_line import run_command
from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.log import logger
from mom_nerfstudio.synthesis.config import SynthesisConfig
from mom_nerfstudio.synthesis.previews import (
    colorize_depth,
    contact_sheet,
    motion_overlay,
    write_image,
    write_video,
)
from mom_nerfstudio.synthesis.runner import SceneSynthesis

PREVIEW_FPS = 30.0

PREVIEW_NAMES = frozenset({"depth.png", "motion.png", "views.jpg", "loop.mp4", "loop.gif", "summary.json", "dataset"})
"""What `write_previews` may write; --overwrite replaces only an output folder that holds nothing else."""


@dataclass
class SynthesizeCommand:
    """Turn one landscape photo into a multi-view looping video and write previews you can look at."""

    image: tyro.conf.Positional[Path]
    """The landscape photo."""
    output: Annotated[Path, tyro.conf.arg(aliases=["-o"])] = Path("outputs/preview")
    """Folder for the previews and the dataset; it must be empty or new unless --overwrite True is given."""
    overwrite: bool = False
    """Replace an output folder of earlier previews, once the new ones are complete."""
    synthesis: Annotated[SynthesisConfig, tyro.conf.arg(name="")] = field(default_factory=SynthesisConfig)


def _check_output_folder(output: Path, overwrite: bool) -> None:
    if output.exists() and not output.is_dir():
        raise Mom4dInputError(f"The output {output} is a file, not a folder. Choose a folder with -o.")
    _check_output_can_be_built(output)
    if not output.exists() or not any(output.iterdir()):
        return
    if not overwrite:
        raise Mom4dInputError(
            f"The output folder {output} is not empty; nothing was written. "
            "Choose another folder with -o, or pass --overwrite True to replace the previews."
        )
    others = sorted(entry.name for entry in output.iterdir() if entry.name not in PREVIEW_NAMES)
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise Mom4dInputError(
            f"The output folder {output} holds {shown} besides previews, and --overwrite True replaces the whole "
            "folder; nothing was written. Choose another folder with -o."
        )


def _check_output_can_be_built(output: Path) -> None:
    """Refuse an output folder that could not be put in place once the synthesis has run.

    The previews are built beside the output folder (`atomic_folder`), so it is its parent, or the parent's
    nearest existing ancestor when the parent is still to be created, that must take new entries.
    """
    place = nearest_existing(output.absolute().parent)
    if not place.is_dir():
        raise Mom4dInputError(
            f"The output folder {output} cannot be created: {place} is a file, not a folder; nothing was written. "
            "Choose another folder with -o."
        )
    try:
        check_can_create_in(place)
    except OSError as error:
        raise Mom4dInputError(
            f"The output folder {output} cannot be written: {place} is not writable ({error.strerror or error}); "
            "nothing was written. Choose a folder you can write to with -o."
        ) from error


def _input_view_frames(dataset: SynthesizedDataset) -> list[np.ndarray]:
    """The input view's loop as RGB frames, read back from the dataset."""
    input_view = dataset.transforms["mom4d"]["input_view"]
    frames = sorted(
        (frame for frame in dataset.transforms["frames"] if frame["view"] == input_view), key=lambda f: f["frame"]
    )
    images = [cv2.cvtColor(cv2.imread(str(dataset.folder / frame["file_path"])), cv2.COLOR_BGR2RGB) for frame in frames]
    return images if len(images) > 1 else images * dataset.num_frames


def write_previews(synthesis: SceneSynthesis, dataset: SynthesizedDataset, output: Path) -> dict[str, Path]:
    """Write the previews of a synthesised photo into the empty folder `output`; returns what was written."""
    scene, views = synthesis.scene, synthesis.result("views")
    written = {
        "depth": write_image(output / "depth.png", colorize_depth(scene.depth)),
        "motion": write_image(
            output / "motion.png",
            motion_overlay(
                scene.image.rgb, views["flows"][0].astype(np.float32), scene.motion.mask, regions=scene.motion.regions
            ),
        ),
    }
    written["views"] = write_image(
        output / "views.jpg", contact_sheet(list(views["rgb"]), columns=5, labels=[view.name for view in scene.views])
    )
    written["loop"] = write_video(output / "loop.mp4", _input_view_frames(dataset), fps=PREVIEW_FPS)
    dataset_copy = output / "dataset"
    shutil.copytree(dataset.folder, dataset_copy)
    written["dataset"] = dataset_copy / "transforms.json"
    summary = {
        "image": str(synthesis.image_path),
        "working_size": list(synthesis.image.rgb.shape[:2]),
        "motion_source": scene.motion.source,
        "inconsistency_before": dataset.transforms["mom4d"]["inconsistency_before"],
        "inconsistency_after": dataset.transforms["mom4d"]["inconsistency_after"],
        "cache": str(dataset.folder),
        "stage_seconds": synthesis.timings,
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=1))
    return written


def main(command: SynthesizeCommand) -> None:
    """Run the synthesis and write the previews."""
    output = command.output
    _check_output_folder(output, command.overwrite)
    synthesis = SceneSynthesis(command.image, command.synthesis)
    dataset = synthesis.dataset()
    target = output.absolute()  # a named folder even for "." or "..", so that it can be built beside its place
    remove_stale_partials(target.parent, target.name)
    with atomic_folder(target) as building:
        written = write_previews(synthesis, dataset, building)
    for name, path in written.items():
        logger.info("%-8s %s", name, output / path.relative_to(building))


def entrypoint() -> None:
    """Console entry point of `mom4d-synthesize`."""
    run_command(SynthesizeCommand, main, "mom4d-synthesize")


if __name__ == "__main__":
    entrypoint()
