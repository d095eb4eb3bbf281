"""Options of the single-image scene synthesis, shared by `mom4d-synthesize` and the `mom4d-data` DataParser."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from mom_nerfstudio.errors import Mom4dInputError
from mom_nerfstudio.loop import LoopBlend
from mom_nerfstudio.synthesis.image_io import MIN_IMAGE_SIZE
from mom_nerfstudio.synthesis.motion.fit import MotionFitSettings
from mom_nerfstudio.synthesis.motion.input import AutomaticSpeeds

DEFAULT_INPAINT_PROMPT = "a photograph of a natural landscape, seamless continuation of the scene, realistic, detailed"
DEFAULT_INPAINT_NEGATIVE_PROMPT = "text, watermark, signature, frame, border, people, blurry, distorted, collage"
DEFAULT_INPAINT_STEPS = 30


@dataclass
class SynthesisConfig:
    """How one photo becomes a multi-view looping video."""

    max_resolution: int = 1024
    """Longest side of the working image in pixels; larger photos are downscaled with area interpolation."""
    alpha_mode: Literal["white", "mask"] = "white"
    """Transparent photos: composite on white, or keep the colours and never train on transparent pixels."""
    depth: str = "prior"
    """Depth source: 'prior' (weight-free landscape prior), 'file' (a depth or disparity map, see --depth-file), or a
    learned model: 'zoedepth', 'depth-anything' (Depth Anything V2) or 'marigold' (see --depth-model)."""
    depth_model: Optional[str] = None
    """Hub id or local folder of the learned depth model; default: Intel/zoedepth-nyu-kitti (zoedepth),
    depth-anything/Depth-Anything-V2-Small-hf (depth-anything), prs-eth/marigold-depth-v1-1 (marigold)."""
    depth_file: Optional[Path] = None
    """Depth or disparity map for --depth file: .npy, .png (8/16 bit) or .exr, any size with the photo's aspect."""
    depth_file_kind: Literal["depth", "disparity"] = "depth"
    """What --depth-file holds: z-depth (any unit) or disparity (inverse depth, any scale)."""
    fov_degrees: float = 50.0
    """Field of view along the photo's long side (the paper assumed about 47 degrees)."""
    yaw_degrees: float = 20.0
    """Look-around rotation to the left and right for the synthesised views."""
    pitch_degrees: float = 22.5
    """Look-around rotation up and down for the synthesised views."""
    orbit_degrees: float = 5.0
    """Orbit of the synthesised views about the pivot at the scene's median depth."""
    inpaint: Literal["reflect", "telea", "none", "sd"] = "reflect"
    """Holes of the novel views: 'reflect' (a smooth colour fill carrying the seen texture mirrored across the
    hole's edge; no weights needed), OpenCV's 'telea' (smooth, streaked), leave them unsupervised ('none'), or grow
    the scene into them view by view with Stable Diffusion inpainting ('sd', see --inpaint-model); filled pixels
    stay marked."""
    inpaint_model: Optional[str] = None
    """Hub id or local folder of the Stable Diffusion inpainting model for --inpaint sd; default:
    stable-diffusion-v1-5/stable-diffusion-inpainting."""
    inpaint_prompt: str = DEFAULT_INPAINT_PROMPT
    """What --inpaint sd paints into the holes."""
    inpaint_negative_prompt: str = DEFAULT_INPAINT_NEGATIVE_PROMPT
    """What --inpaint sd avoids painting."""
    inpaint_seed: int = 0
    """Seed of --inpaint sd (each view adds its index), so that a synthesis is reproducible."""
    inpaint_steps: int = DEFAULT_INPAINT_STEPS
    """Denoising steps of --inpaint sd per view: fewer is faster and rougher."""
    segmentation: Literal["heuristic", "learned"] = "heuristic"
    """How sky and water are found (for the depth and the automatic motion): 'heuristic' (colour, texture and place,
    no weights) or 'learned' (a semantic segmentation model trained on ADE20K; see --segmentation-model)."""
    segmentation_model: Optional[str] = None
    """Hub id or folder of the segmentation model for --segmentation learned: a SegFormer or UperNet trained on
    ADE20K; default: nvidia/segformer-b5-finetuned-ade-640-640 (lighter: nvidia/segformer-b0-finetuned-ade-512-512)."""
    auto_sky_drift: float = 0.1
    """Without a given motion: how far the sky's clouds drift right over one loop, as a share of the frame's width."""
    auto_water_flow: float = 0.12
    """Without a given motion: how far rippled water (a river, the sea's waves) flows down the image over one loop,
    as a share of the frame's height."""
    auto_calm_ripple: float = 0.05
    """Without a given motion: how far calm water that mirrors the scene sways sideways over one loop, as a share of
    the frame's width (its reflection shimmers)."""
    motion: Literal["auto", "none"] = "auto"
    """Without an annotation, hints or flow: 'auto' moves detected sky and water, 'none' gives a static scene."""
    motion_mask: Optional[Path] = None
    """Image of the moving regions (nonzero = moves), used with --hints when no labelme JSON sits beside the photo."""
    hints: Optional[Path] = None
    """JSON list of motion arrows [[x0, y0, x1, y1], ...] in pixels of the photo."""
    flow: Optional[Path] = None
    """Dense motion of the photo as an .npy HxWx2 array in pixels per frame (from any optical-flow estimator)."""
    hint_frames: float = 50.0
    """An arrow of length L pixels means L / (this number) pixels per frame at the photo's resolution."""
    hint_sigma: Optional[float] = None
    """Width in working pixels of each hint's influence; default: chosen from the image size and hint count."""
    num_frames: int = 60
    """Frames in one loop of the synthesised videos."""
    animated_views: Literal["input", "orbit", "all"] = "orbit"
    """Views that get looping videos: the input view, the 5 straight-ahead orbit views, or every view."""
    motion_model: Optional[Path] = None
    """3D-Cinemagraphy's motion network checkpoint (sceneflow_model.pth), which predicts each view's 2D motion from
    the view, its motion mask and its hint field; without it, the dense hint field is the motion."""
    view_motion: Literal["auto", "shared", "per-view"] = "auto"
    """How each view gets its 2D motion: 'shared' lifts the input view's motion into 3D once and projects it into
    every view, so the views agree by construction; 'per-view' estimates each view's motion on its own (hints drawn
    in the view, or the motion network) and 3D-MOM reconciles them; 'auto' is per-view with --motion-model."""
    motion_lift: Literal["surface", "constant-depth"] = "surface"
    """How image motion becomes 3D motion: along the depth surface (water recedes along its bed), or within each
    point's depth plane (as 3D-Cinemagraphy does; for comparison)."""
    motion_solver: Literal["irls", "sgd", "lift", "none"] = MotionFitSettings.solver
    """3D-MOM solver: reweighted least squares damped along the viewing rays and smoothed between neighbours, the
    paper's SGD schedule, 'lift' (no fit: the input view's motion lifted into 3D), or 'none' (no 3D motion: every
    animated view is animated in 2D by its own motion, the paper's ablation without 3D-MOM)."""
    motion_solver_steps: Optional[int] = None
    """Iterations of the 3D-MOM solver; default: the solver's own (the paper's for sgd)."""
    motion_ray_damping: float = MotionFitSettings.ray_damping
    """3D-MOM (irls): pull of the motion along each point's viewing ray towards the lifted input-view motion, which
    the views, a few degrees apart, barely observe; relative to the point's data."""
    motion_smoothness: float = MotionFitSettings.smoothness
    """3D-MOM (irls): pull of each point's motion towards its neighbours', relative to the point's data."""
    motion_paths: Literal["field", "straight"] = "field"
    """How moving points travel over the loop: along the 3D velocity field, which is zero outside the motion region
    (water stays in its bed), or in straight lines along their own velocity (for comparison)."""
    loop_blend: LoopBlend = "contrast-preserving"
    """How the loop's two copies of the moving content are mixed: keeping the texture's local contrast, or a plain
    cross-fade (which dims moving texture mid-loop and shows distinct features twice)."""
    cache_dir: Optional[Path] = None
    """Where stage results are cached; default: a folder 'mom4d_cache' beside the photo."""
    force: bool = False
    """Recompute every stage instead of reusing the cache."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Device for the synthesis; 'auto' uses a GPU when there is one."""

    @property
    def automatic_speeds(self) -> AutomaticSpeeds:
        """How far the automatic motion carries each region over one loop."""
        return AutomaticSpeeds(self.auto_sky_drift, self.auto_water_flow, self.auto_calm_ripple)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Refuse option values that cannot work, naming the option as it is typed on the command line."""
        if self.max_resolution < MIN_IMAGE_SIZE:
            raise Mom4dInputError(
                f"--max-resolution is {self.max_resolution}; set it to {MIN_IMAGE_SIZE} pixels or more."
            )
        if not 1.0 <= self.fov_degrees <= 170.0:
            raise Mom4dInputError(
                f"--fov-degrees is {self.fov_degrees}; a field of view must lie between 1 and 170 degrees."
            )
        if self.num_frames < 2:
            raise Mom4dInputError(f"--num-frames is {self.num_frames}; a loop needs at least 2 frames.")
        if not self.hint_frames > 0:
            raise Mom4dInputError(
                f"--hint-frames is {self.hint_frames}; it must be positive (an arrow of length L moves L / hint-frames "
                "pixels per frame)."
            )
        for option, value in (
            ("--motion-ray-damping", self.motion_ray_damping),
            ("--motion-smoothness", self.motion_smoothness),
            ("--auto-sky-drift", self.auto_sky_drift),
            ("--auto-water-flow", self.auto_water_flow),
            ("--auto-calm-ripple", self.auto_calm_ripple),
        ):
            if not value >= 0:
                raise Mom4dInputError(f"{option} is {value}; it must be zero or positive.")
        if self.motion_solver_steps is not None and self.motion_solver_steps < 1:
            raise Mom4dInputError(
                f"--motion-solver-steps is {self.motion_solver_steps}; the solver needs at least one."
            )
        if self.hint_sigma is not None and not self.hint_sigma > 0:
            raise Mom4dInputError(f"--hint-sigma is {self.hint_sigma}; it must be positive (pixels), or left unset.")
        if self.inpaint_steps < 1:
            raise Mom4dInputError(f"--inpaint-steps is {self.inpaint_steps}; Stable Diffusion needs at least 1 step.")
