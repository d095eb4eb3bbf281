"""`rasterization` with gsplat's signature: gsplat's CUDA kernels for CUDA tensors, ours elsewhere.

gsplat 1.4.0 has CUDA kernels only; they are compiled on first use. This module imports gsplat's
renderer lazily, on the first CUDA call, so that importing it needs no GPU and compiles nothing.
"""

from __future__ import annotations

from torch import Tensor

from mom_nerfstudio.rendering.cpu_rasterizer import rasterize_gaussians_torch
from mom_nerfstudio.rendering.cpu_rasterizer.options import (
    CameraModel,
    RasterizeMode,
    RenderMode,
)

CUDA_ONLY_OPTIONS = ("packed", "sparse_grad", "channel_chunk", "distributed")
"""Arguments of gsplat's signature that only its CUDA kernels act on; the others mean the same to both."""


def rasterization(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    colors: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    width: int,
    height: int,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    radius_clip: float = 0.0,
    eps2d: float = 0.3,
    sh_degree: int | None = None,
    packed: bool = True,
    tile_size: int = 16,
    backgrounds: Tensor | None = None,
    render_mode: RenderMode = "RGB",
    sparse_grad: bool = False,
    absgrad: bool = False,
    rasterize_mode: RasterizeMode = "classic",
    channel_chunk: int = 32,
    distributed: bool = False,
    camera_model: CameraModel = "pinhole",
    covars: Tensor | None = None,
) -> tuple[Tensor, Tensor, dict]:
    """Rasterise Gaussians: `gsplat.rasterization` on CUDA tensors, the PyTorch rasteriser otherwise.

    The arguments and return values are gsplat's (see `gsplat.rendering.rasterization`). Off CUDA,
    renders are unpacked, so `packed` must be False and `distributed` is not available; `sparse_grad`
    (which only acts on packed renders) and `channel_chunk` (a CUDA memory setting) are ignored, and
    `absgrad` is honoured.
    """
    # Every argument by name, taken before any other local exists: this signature is their one list.
    arguments = dict(locals())
    if means.is_cuda:
        from gsplat.rendering import rasterization as gsplat_rasterization

        return gsplat_rasterization(**arguments)
    if packed:
        raise ValueError(
            f"packed=True is only available for CUDA tensors (got tensors on {means.device}); "
            "pass packed=False to render on this device"
        )
    if distributed:
        raise ValueError(f"distributed rendering needs CUDA tensors (got tensors on {means.device})")
    for name in CUDA_ONLY_OPTIONS:
        del arguments[name]
    return rasterize_gaussians_torch(**arguments)
