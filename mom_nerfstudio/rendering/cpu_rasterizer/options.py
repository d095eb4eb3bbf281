"""The rendering options that the PyTorch rasteriser honours, checked once when they are gathered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

RenderMode = Literal["RGB", "D", "ED", "RGB+D", "RGB+ED"]
RasterizeMode = Literal["classic", "antialiased"]
CameraModel = Literal["pinhole", "ortho", "fisheye"]

RENDER_MODES: tuple[str, ...] = get_args(RenderMode)


@dataclass(frozen=True)
class RasterOptions:
    """Options of `gsplat.rasterization` that the PyTorch rasteriser honours, with gsplat's defaults.

    gsplat's CUDA-only options (`mom_nerfstudio.rendering.rasterize.CUDA_ONLY_OPTIONS`) are not here:
    the dispatching `rasterization` refuses or ignores them before a render reaches this rasteriser.
    `chunk_elements` is this rasteriser's own memory budget.
    """

    near_plane: float = 0.01
    """Gaussians whose centre is not beyond this depth are culled."""
    far_plane: float = 1e10
    """Gaussians whose centre is not closer than this depth are culled."""
    radius_clip: float = 0.0
    """Gaussians whose pixel radius is not above this are culled."""
    eps2d: float = 0.3
    """Added to the diagonal of every projected covariance."""
    sh_degree: int | None = None
    """Degree of spherical harmonics to evaluate, or None for plain colours."""
    tile_size: int = 16
    """Side of the square tiles, in pixels."""
    render_mode: RenderMode = "RGB"
    """"RGB", "D" (accumulated depth), "ED" (depth divided by alpha), "RGB+D" or "RGB+ED"; depth modes
    add one channel, last."""
    rasterize_mode: RasterizeMode = "classic"
    """"classic", or "antialiased" for Mip-Splatting's opacity compensation."""
    absgrad: bool = False
    """Also compute `info["means2d"].absgrad` during the backward pass."""
    camera_model: CameraModel = "pinhole"
    """"pinhole", "ortho" or "fisheye" (gsplat's pure-PyTorch projections)."""
    chunk_elements: int = 1 << 18
    """Memory budget: entries of one dense compositing block. The default, 1 MB per float32 temporary,
    stays in the CPU caches and is recycled by the memory allocator rather than mapped afresh."""

    def __post_init__(self) -> None:
        if self.render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be one of {RENDER_MODES}, got {self.render_mode!r}")
        if self.rasterize_mode not in get_args(RasterizeMode):
            raise ValueError(f"unknown rasterize_mode {self.rasterize_mode!r}")
        if not (self.tile_size > 0 and self.chunk_elements > 0):
            raise ValueError("tile_size and chunk_elements must be positive")

    @property
    def renders_depth(self) -> bool:
        """Whether the render has a depth channel."""
        return self.render_mode != "RGB"

    @property
    def renders_colour(self) -> bool:
        """Whether the render has colour channels (before any depth channel)."""
        return self.render_mode.startswith("RGB")

    @property
    def normalises_depth(self) -> bool:
        """Whether the depth channel is divided by the rendered alpha ("expected depth")."""
        return self.render_mode.endswith("ED")
