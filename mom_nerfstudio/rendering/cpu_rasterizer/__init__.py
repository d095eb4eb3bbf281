"""Differentiable 3D Gaussian rasterisation in plain PyTorch, for tensors that are not on a GPU.

It renders what `gsplat.rasterization` (gsplat 1.4.0) renders, for the arguments splatfacto uses, so
that a model trains and renders without CUDA. The stages are gsplat's, one module each, chained by
`rasterizer.rasterize_gaussians_torch`:

1. `projection`: each Gaussian to a 2-D mean, conic, depth, pixel radius and per-camera colour.
2. `tiles`: the image cut into square tiles, each listing the Gaussians that touch it, front to back.
3. `compositing` (the autograd function, analytic backward pass and absgrad) over `blocks` (the dense
   `[tiles, pixels, Gaussians]` blocks it works on, their schedule, scratch memory and the per-pixel
   rules: alpha clamp, skipping of faint Gaussians, early stop).

`options` holds the rendering options it honours; `inputs` checks tensor shapes as gsplat does.
"""

from mom_nerfstudio.rendering.cpu_rasterizer.options import RasterOptions
from mom_nerfstudio.rendering.cpu_rasterizer.rasterizer import rasterize_gaussians_torch

__all__ = ["RasterOptions", "rasterize_gaussians_torch"]
