"""Options of the single-image scene synthesis, shared by `mom4d-synthesize` and the `mom4d-data` DataParser."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

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
    motion: Literal["auto", "none"] = "auto"
    """Without an annotation, hints or flow: 'auto' moves detected sky and water, 'none' gives a static scene."""
    motion_mask: Optional[Path] = None
    """Image of the moving regions (nonzero = moves), used with --hints when no labelme JSON sits beside the photo."""
    hints: Optional[Path] = None
    """JSON list of motion arrows [[x0, y0, x1, y1], ...] in pixels of the photo."""
    flow: Optional[Path] = None
    """Dense motion of the photo as an .npy HxWx2 array in pixels per frame (from any optical-flow estimator)."""
    hint_frames: float = 50.0
    """An arrow of length L pixels means L / hint_frames pixels per frame at the photo's resolution."""
    hint_sigma: Optional[float] = None
    """Width in working pixels of each hint's influence; default: chosen from the image size and hint count."""
    num_frames: int = 60
    """Frames in one loop of the synthesised videos."""
    animated_views: Literal["input", "orbit", "all"] = "orbit"
    """Views that get looping videos: the input view, the 5 straight-ahead orbit views, or all 25."""
    motion_solver: Literal["irls", "sgd", "lift"] = "irls"
    """3D-MOM solver: exact reweighted least squares, the paper's SGD schedule (200 steps), or 'lift' (no 3D-MOM:
    each point moves in its depth plane by the input view's motion, for comparison)."""
    cache_dir: Optional[Path] = None
    """Where stage results are cached; default: a folder 'mom4d_cache' beside the photo."""
    force: bool = False
    """Recompute every stage instead of reusing the cache."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Device for the synthesis; 'auto' uses a GPU when there is one."""
