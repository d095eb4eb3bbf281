"""Differentiable 3D Gaussian rasterisation in plain PyTorch, for tensors that are not on a GPU.

It renders what `gsplat.rasterization` (gsplat 1.4.0) renders, for the arguments splatfacto uses, so
that a model trains and renders without CUDA. The stages are gsplat's:

1. **Projection.** gsplat's own pure-PyTorch `_fully_fused_projection` turns each Gaussian into a 2-D
   mean, an inverse 2-D covariance ("conic", blurred by `eps2d`), a depth and a pixel radius (0 means
   culled: behind the near plane, beyond the far plane, off the image, or not above `radius_clip`).
   "antialiased" mode scales opacities by the blur's compensation. Spherical harmonics are evaluated
   with gsplat's `_spherical_harmonics`, plus 0.5 and clamped at 0, as gsplat does.
2. **Tile intersection.** The image is cut into square tiles; a Gaussian joins every tile that its
   square `mean +- radius` touches (gsplat's rule, hence gsplat's culling) and each tile's list is
   sorted front to back by depth, ties in Gaussian order.
3. **Compositing.** Per pixel, front to back: `alpha = min(0.999, opacity * exp(-sigma))` with
   `sigma = 0.5 * d^T conic d`, `d` the offset from the pixel centre (at `+0.5`, gsplat's convention)
   to the mean. Gaussians with `alpha < 1/255` are skipped, and a pixel stops, before the Gaussian,
   as soon as its transmittance `T` would fall to 1e-4 or below. The colour is the sum of
   `alpha * T * colour`, the rendered alpha `1 - T_final`, and a background adds `T_final * background`.

Compositing works on dense blocks `[tiles, pixels of a tile, Gaussians]`. Tiles are grouped by how many
Gaussians they hold, and each group is walked along the Gaussian axis in chunks of at most
`chunk_elements` block entries, carrying the transmittance from chunk to chunk and dropping the tiles
whose pixels have all stopped: memory stays bounded whatever the number of Gaussians and the image size.
Around a tile's centre, `log2(alpha)` before the clamp is a quadratic in the pixel position, so a block
of exponents is a single matrix product of per-pixel features `[1, x, y, x^2, xy, y^2]` with six
coefficients per intersection, which ordinary autograd builds from the means, conics and opacities.
The compositing itself is an autograd function whose backward pass is analytic: it recomputes each
chunk (nothing per block entry is kept between the passes) and walks every tile back to front, as
gsplat's CUDA backward pass does. It also yields gsplat's "absgrad" (per-pixel absolute gradients of
the 2-D means, summed) on request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Literal, NamedTuple

import torch
import torch.nn.functional as F
from gsplat.cuda._torch_impl import (
    _fully_fused_projection,
    _quat_scale_to_covar_preci,
    _spherical_harmonics,
)
from torch import Tensor

RenderMode = Literal["RGB", "D", "ED", "RGB+D", "RGB+ED"]
RasterizeMode = Literal["classic", "antialiased"]
CameraModel = Literal["pinhole", "ortho", "fisheye"]

RENDER_MODES = ("RGB", "D", "ED", "RGB+D", "RGB+ED")
ALPHA_MAX = 0.999
"""A single Gaussian never makes a pixel more opaque than this (gsplat's clamp)."""
ALPHA_MIN = 1.0 / 255.0
"""Gaussians fainter than this at a pixel are skipped there."""
TRANSMITTANCE_MIN = 1e-4
"""A pixel stops before the Gaussian that would bring its transmittance to this value or below."""
DEFAULT_CHUNK_ELEMENTS = 1 << 18
"""Entries of one dense block: 1 MB per float32 temporary, small enough to stay in the CPU caches and
to be recycled by the memory allocator rather than mapped afresh."""
MAX_CHUNK_GAUSSIANS = 128
"""Gaussians per tile in one chunk: shorter chunks let the tiles whose pixels have all stopped drop out
sooner; longer ones cost less per-chunk overhead."""

_LOG2_E = 1.0 / math.log(2.0)
_TRANSPARENT = -1e30
"""log2-alpha of the padding slots of a block."""
_MIN_OPACITY = 1e-30
"""Opacities are clamped to this before their logarithm (anything this faint is skipped anyway)."""


def rasterize_gaussians_torch(
    means: Tensor,
    quats: Tensor | None,
    scales: Tensor | None,
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
    tile_size: int = 16,
    backgrounds: Tensor | None = None,
    render_mode: RenderMode = "RGB",
    rasterize_mode: RasterizeMode = "classic",
    absgrad: bool = False,
    camera_model: CameraModel = "pinhole",
    covars: Tensor | None = None,
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
) -> tuple[Tensor, Tensor, dict]:
    """Render Gaussians like `gsplat.rasterization(..., packed=False)`, differentiably, on any device.

    Args:
        means: Gaussian centres, [N, 3].
        quats: Rotations as wxyz quaternions (normalised here), [N, 4]; unused when `covars` is given.
        scales: Standard deviations along the rotated axes, [N, 3]; unused when `covars` is given.
        opacities: Opacities in [0, 1], [N].
        colors: Post-activation colours [N, D] or [C, N, D] when `sh_degree` is None, else
            spherical-harmonics coefficients [N, K, 3] or [C, N, K, 3] with K >= (sh_degree + 1)^2.
        viewmats: World-to-camera transforms, [C, 4, 4].
        Ks: Camera intrinsics, [C, 3, 3].
        width: Image width in pixels.
        height: Image height in pixels.
        near_plane: Gaussians whose centre is not beyond this depth are culled.
        far_plane: Gaussians whose centre is not closer than this depth are culled.
        radius_clip: Gaussians whose pixel radius is not above this are culled.
        eps2d: Added to the diagonal of every projected covariance.
        sh_degree: Degree of spherical harmonics to evaluate, or None for plain colours.
        tile_size: Side of the square tiles, in pixels.
        backgrounds: Per-camera background colours, [C, D], seen through the Gaussians.
        render_mode: "RGB", "D" (accumulated depth), "ED" (depth divided by alpha), "RGB+D" or
            "RGB+ED"; depth modes add one channel, last.
        rasterize_mode: "classic", or "antialiased" for Mip-Splatting's opacity compensation.
        absgrad: Also compute `info["means2d"].absgrad` during the backward pass.
        camera_model: "pinhole", "ortho" or "fisheye" (gsplat's pure-PyTorch projections).
        covars: World-space covariances [N, 3, 3], to use instead of `quats` and `scales`.
        chunk_elements: Memory budget: entries of one dense compositing block.

    Returns:
        `(render [C, H, W, channels], alpha [C, H, W, 1], info)`. `info` holds gsplat's keys for an
        unpacked render: `means2d` [C, N, 2] (the tensor the compositing used: `retain_grad()` on it
        gives screen-space gradients), `radii` [C, N] int32, `depths`, `conics`, `opacities`,
        `camera_ids` and `gaussian_ids` (None), `tile_width`, `tile_height`, `tiles_per_gauss`,
        `isect_ids`, `flatten_ids`, `isect_offsets`, `width`, `height`, `tile_size`, `n_cameras`.
    """
    _check_inputs(
        means, quats, scales, covars, opacities, colors, viewmats, Ks, sh_degree, backgrounds,
        render_mode, rasterize_mode, tile_size, chunk_elements,
    )  # fmt: skip
    if covars is None:
        covars, _ = _quat_scale_to_covar_preci(quats, scales, compute_preci=False, triu=False)
    projection = _project(
        means, covars, opacities, viewmats, Ks, width, height, near_plane, far_plane, radius_clip, eps2d,
        rasterize_mode, camera_model,
    )  # fmt: skip
    features = _view_dependent_colors(means, colors, viewmats, sh_degree)
    if render_mode != "RGB":
        features, backgrounds = _with_depth_channel(features, backgrounds, projection.depths, render_mode)

    tiles = _intersect_tiles(projection, tile_size, width, height)
    render, alpha = _composite(
        projection, features, backgrounds, tiles, width, height, chunk_elements, absgrad
    )
    if render_mode in ("ED", "RGB+ED"):
        render = torch.cat([render[..., :-1], render[..., -1:] / alpha.clamp(min=1e-10)], dim=-1)
    return render, alpha, _info(projection, tiles, width, height)


class _Projection(NamedTuple):
    """Gaussians seen by each camera, each [C, N, ...]; a radius of 0 marks a culled Gaussian."""

    radii: Tensor
    means2d: Tensor
    depths: Tensor
    conics: Tensor
    opacities: Tensor


def _check_inputs(
    means: Tensor,
    quats: Tensor | None,
    scales: Tensor | None,
    covars: Tensor | None,
    opacities: Tensor,
    colors: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    sh_degree: int | None,
    backgrounds: Tensor | None,
    render_mode: str,
    rasterize_mode: str,
    tile_size: int,
    chunk_elements: int,
) -> None:
    """Raise ValueError, naming the argument, for the inputs that `gsplat.rasterization` rejects."""

    def require(condition: bool, message: str) -> None:
        if not condition:
            raise ValueError(message)

    require(means.dim() == 2 and means.shape[1] == 3, f"means must be [N, 3], got {tuple(means.shape)}")
    n = means.shape[0]
    if covars is None:
        require(quats is not None and tuple(quats.shape) == (n, 4), f"quats must be [{n}, 4]")
        require(scales is not None and tuple(scales.shape) == (n, 3), f"scales must be [{n}, 3]")
    else:
        require(tuple(covars.shape) == (n, 3, 3), f"covars must be [{n}, 3, 3]")
    require(tuple(opacities.shape) == (n,), f"opacities must be [{n}], got {tuple(opacities.shape)}")
    require(viewmats.dim() == 3 and viewmats.shape[1:] == (4, 4), "viewmats must be [C, 4, 4]")
    c = viewmats.shape[0]
    require(tuple(Ks.shape) == (c, 3, 3), f"Ks must be [{c}, 3, 3], got {tuple(Ks.shape)}")
    shape = tuple(colors.shape)
    if sh_degree is None:
        require(
            (len(shape) == 2 and shape[0] == n) or (len(shape) == 3 and shape[:2] == (c, n)),
            f"colors must be [{n}, D] or [{c}, {n}, D] without sh_degree, got {shape}",
        )
    else:
        require(
            (len(shape) == 3 and shape[0] == n and shape[2] == 3)
            or (len(shape) == 4 and shape[:2] == (c, n) and shape[3] == 3),
            f"colors must be [{n}, K, 3] or [{c}, {n}, K, 3] with sh_degree, got {shape}",
        )
        bases = (sh_degree + 1) ** 2
        require(bases <= shape[-2], f"sh_degree {sh_degree} needs {bases} SH coefficients, got {shape[-2]}")
    if backgrounds is not None:
        channels = 3 if sh_degree is not None else shape[-1]
        require(tuple(backgrounds.shape) == (c, channels), f"backgrounds must be [{c}, {channels}]")
    require(render_mode in RENDER_MODES, f"render_mode must be one of {RENDER_MODES}, got {render_mode!r}")
    require(rasterize_mode in ("classic", "antialiased"), f"unknown rasterize_mode {rasterize_mode!r}")
    require(tile_size > 0 and chunk_elements > 0, "tile_size and chunk_elements must be positive")


def _project(
    means: Tensor,
    covars: Tensor,
    opacities: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    width: int,
    height: int,
    near_plane: float,
    far_plane: float,
    radius_clip: float,
    eps2d: float,
    rasterize_mode: str,
    camera_model: str,
) -> _Projection:
    """Project the Gaussians into every camera with gsplat's PyTorch projection.

    Gaussians not beyond the near plane are culled. Before projecting, they are moved to a harmless
    point in front of the camera (and their radius zeroed after): at depths near 0 the projection's
    derivatives are infinite, and the zero gradient they receive would turn into NaN.
    """
    outputs = []
    for camera in range(viewmats.shape[0]):
        viewmat = viewmats[camera : camera + 1]
        with torch.no_grad():
            depths = means.detach() @ viewmat[0, 2, :3] + viewmat[0, 2, 3]
            in_front = depths > near_plane  # False for NaN depths too
            harmless_point = torch.linalg.inv(viewmat[0])[:3] @ means.new_tensor([0.0, 0.0, 1.0, 1.0])
        safe_means = torch.where(in_front[:, None], means, harmless_point)
        radii, means2d, depths, conics, compensations = _fully_fused_projection(
            safe_means,
            covars,
            viewmat,
            Ks[camera : camera + 1],
            width,
            height,
            eps2d=eps2d,
            near_plane=near_plane,
            far_plane=far_plane,
            calc_compensations=rasterize_mode == "antialiased",
            camera_model=camera_model,
        )
        radii = radii * in_front
        if radius_clip > 0:
            radii = torch.where(radii <= radius_clip, torch.zeros_like(radii), radii)
        outputs.append((radii, means2d, depths, conics, compensations))

    radii, means2d, depths, conics = (torch.cat(values) for values in list(zip(*outputs))[:4])
    opacities = opacities.expand(viewmats.shape[0], -1)
    if rasterize_mode == "antialiased":
        opacities = opacities * torch.cat([compensations for *_, compensations in outputs])
    return _Projection(radii.int(), means2d, depths, conics, opacities)


def _view_dependent_colors(
    means: Tensor, colors: Tensor, viewmats: Tensor, sh_degree: int | None
) -> Tensor:
    """Per-camera colours [C, N, D]: as given, or evaluated from SH along the camera-to-Gaussian ray."""
    n_cameras = viewmats.shape[0]
    if sh_degree is None:
        return colors.expand(n_cameras, -1, -1) if colors.dim() == 2 else colors
    camera_centres = torch.inverse(viewmats)[:, :3, 3]
    directions = means[None, :, :] - camera_centres[:, None, :]
    coefficients = colors.expand(n_cameras, -1, -1, -1) if colors.dim() == 3 else colors
    return torch.clamp_min(_spherical_harmonics(sh_degree, directions, coefficients) + 0.5, 0.0)


def _with_depth_channel(
    colors: Tensor, backgrounds: Tensor | None, depths: Tensor, render_mode: str
) -> tuple[Tensor, Tensor | None]:
    """Features and backgrounds for a depth mode: depth appended ("RGB+...") or alone, over background 0."""
    n_cameras = depths.shape[0]
    if render_mode in ("D", "ED"):
        return depths[..., None], None if backgrounds is None else backgrounds.new_zeros(n_cameras, 1)
    colors = torch.cat([colors, depths[..., None]], dim=-1)
    if backgrounds is not None:
        backgrounds = torch.cat([backgrounds, backgrounds.new_zeros(n_cameras, 1)], dim=-1)
    return colors, backgrounds


@dataclass(frozen=True)
class _TileIntersections:
    """Which Gaussians touch which tile, every tile's list sorted front to back.

    Tiles are numbered `camera * tiles_per_image + row * tiles_x + column`; intersection `k` joins tile
    `tile_ids[k]` and Gaussian `flatten_ids[k]` (an index into arrays [C, N] flattened).
    """

    tile_size: int
    tiles_x: int
    tiles_y: int
    n_cameras: int
    flatten_ids: Tensor  # [M] int64
    tile_ids: Tensor  # [M] int64, non-decreasing
    tile_starts: Tensor  # [C * tiles_per_image] int64, the first intersection of each tile
    tile_counts: Tensor  # [C * tiles_per_image] int64
    tiles_per_gauss: Tensor  # [C, N] int32
    isect_ids: Tensor  # [M] int64, gsplat's sort keys: camera | tile | depth bits

    @property
    def tiles_per_image(self) -> int:
        """Tiles in one camera's image."""
        return self.tiles_x * self.tiles_y

    @property
    def pixels_per_tile(self) -> int:
        """Pixels in one tile, counting those beyond the image's right and bottom edges."""
        return self.tile_size * self.tile_size


@torch.no_grad()
def _intersect_tiles(projection: _Projection, tile_size: int, width: int, height: int) -> _TileIntersections:
    """Bin Gaussians into the tiles their `mean +- radius` squares touch; sort every tile by depth."""
    means2d, radii, depths = projection.means2d, projection.radii, projection.depths
    n_cameras, n_gaussians = radii.shape
    tiles_x, tiles_y = math.ceil(width / tile_size), math.ceil(height / tile_size)
    tiles_per_image = tiles_x * tiles_y

    tile_radius = radii.to(means2d.dtype) / tile_size
    centre = means2d / tile_size
    x_min = torch.floor(centre[..., 0] - tile_radius).clamp(0, tiles_x).long()
    x_max = torch.ceil(centre[..., 0] + tile_radius).clamp(0, tiles_x).long()
    y_min = torch.floor(centre[..., 1] - tile_radius).clamp(0, tiles_y).long()
    y_max = torch.ceil(centre[..., 1] + tile_radius).clamp(0, tiles_y).long()
    tiles_per_gauss = (x_max - x_min) * (y_max - y_min) * (radii > 0)

    # Intersections emitted in (depth, Gaussian index) order, then stable-sorted by tile, give every
    # tile a front-to-back list whose ties keep Gaussian order, as gsplat's radix sort does.
    counts = tiles_per_gauss.reshape(-1)
    touching = torch.nonzero(counts > 0).squeeze(1)
    touching = touching[torch.argsort(depths.reshape(-1)[touching], stable=True)]
    counts = counts[touching]
    flatten_ids = touching.repeat_interleave(counts)
    first_of_gaussian = (torch.cumsum(counts, 0) - counts).repeat_interleave(counts)
    rank = torch.arange(flatten_ids.numel(), device=radii.device) - first_of_gaussian
    span_x = (x_max - x_min).reshape(-1)[flatten_ids]
    tile_x = x_min.reshape(-1)[flatten_ids] + rank % span_x
    tile_y = y_min.reshape(-1)[flatten_ids] + rank // span_x
    tile_ids = (flatten_ids // n_gaussians) * tiles_per_image + tile_y * tiles_x + tile_x
    tile_ids, order = torch.sort(tile_ids, stable=True)
    flatten_ids = flatten_ids[order]

    tile_counts = torch.bincount(tile_ids, minlength=n_cameras * tiles_per_image)
    depth_bits = depths.float().reshape(-1)[flatten_ids].view(torch.int32).long()
    tile_in_image = tile_ids % tiles_per_image
    camera_ids = tile_ids // tiles_per_image
    isect_ids = (camera_ids << (32 + tiles_per_image.bit_length())) | (tile_in_image << 32) | depth_bits
    return _TileIntersections(
        tile_size=tile_size,
        tiles_x=tiles_x,
        tiles_y=tiles_y,
        n_cameras=n_cameras,
        flatten_ids=flatten_ids,
        tile_ids=tile_ids,
        tile_starts=torch.cumsum(tile_counts, 0) - tile_counts,
        tile_counts=tile_counts,
        tiles_per_gauss=tiles_per_gauss.int(),
        isect_ids=isect_ids,
    )


def _tile_centres(tiles: _TileIntersections) -> Tensor:
    """Pixel coordinates [M, 2] of the centre of each intersection's tile."""
    tile_in_image = tiles.tile_ids % tiles.tiles_per_image
    half = tiles.tile_size / 2
    centre_x = (tile_in_image % tiles.tiles_x) * tiles.tile_size + half
    centre_y = (tile_in_image // tiles.tiles_x) * tiles.tile_size + half
    return torch.stack([centre_x, centre_y], dim=-1)


def _pixel_features(tile_size: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """`[1, x, y, x^2, x*y, y^2]` [P, 6] of a tile's pixel centres (row-major), from the tile centre."""
    centres = torch.arange(tile_size, dtype=dtype, device=device) + 0.5 - tile_size / 2
    y, x = torch.meshgrid(centres, centres, indexing="ij")
    x, y = x.reshape(-1), y.reshape(-1)
    return torch.stack([torch.ones_like(x), x, y, x * x, x * y, y * y], dim=-1)


def _log2_alpha_coefficients(projection: _Projection, tiles: _TileIntersections) -> Tensor:
    """Coefficients [M, 6] of each intersection's `log2(opacity * exp(-sigma))` over its tile.

    With `(mx, my)` the mean and `(x, y)` a pixel centre, both relative to the tile centre (which
    keeps the expanded terms, and so their rounding errors, small), and `(a, b, c)` the conic, the value
    at that pixel is `coefficients . [1, x, y, x^2, x*y, y^2]`.
    """
    ids = tiles.flatten_ids
    means2d = projection.means2d.reshape(-1, 2)[ids] - _tile_centres(tiles).to(projection.means2d.dtype)
    mx, my = means2d.unbind(-1)
    a, b, c = projection.conics.reshape(-1, 3)[ids].unbind(-1)
    log_opacity = torch.log(projection.opacities.reshape(-1)[ids].clamp_min(_MIN_OPACITY))
    coefficients = torch.stack(
        [
            log_opacity - 0.5 * a * mx * mx - b * mx * my - 0.5 * c * my * my,
            a * mx + b * my,
            b * mx + c * my,
            -0.5 * a,
            -b,
            -0.5 * c,
        ],
        dim=-1,
    )
    return coefficients * _LOG2_E


def _composite(
    projection: _Projection,
    features: Tensor,
    backgrounds: Tensor | None,
    tiles: _TileIntersections,
    width: int,
    height: int,
    chunk_elements: int,
    absgrad: bool,
) -> tuple[Tensor, Tensor]:
    """Render `(features [C, H, W, D], alpha [C, H, W, 1])` of the projected Gaussians."""
    coefficients = _log2_alpha_coefficients(projection, tiles)
    isect_features = features.reshape(-1, features.shape[-1])[tiles.flatten_ids]
    absgrad_sink = _AbsGradSink(projection.means2d, projection.conics, tiles) if absgrad else None
    tile_colors, tile_transmittance = _TileCompositing.apply(
        coefficients, isect_features, tiles, chunk_elements, absgrad_sink
    )
    render = _tiles_to_images(tile_colors, tiles, width, height)
    transmittance = _tiles_to_images(tile_transmittance[..., None], tiles, width, height)
    if backgrounds is not None:
        render = render + transmittance * backgrounds[:, None, None, :]
    return render, 1.0 - transmittance


def _tiles_to_images(values: Tensor, tiles: _TileIntersections, width: int, height: int) -> Tensor:
    """Rearrange tile-major values [C * tiles, P, D] into images [C, height, width, D]."""
    size, channels = tiles.tile_size, values.shape[-1]
    images = values.reshape(tiles.n_cameras, tiles.tiles_y, tiles.tiles_x, size, size, channels)
    images = images.permute(0, 1, 3, 2, 4, 5)
    images = images.reshape(tiles.n_cameras, tiles.tiles_y * size, tiles.tiles_x * size, channels)
    return images[:, :height, :width]


def _info(projection: _Projection, tiles: _TileIntersections, width: int, height: int) -> dict:
    """gsplat's `meta` dictionary of an unpacked render."""
    return {
        "camera_ids": None,
        "gaussian_ids": None,
        "radii": projection.radii,
        "means2d": projection.means2d,
        "depths": projection.depths,
        "conics": projection.conics,
        "opacities": projection.opacities,
        "tile_width": tiles.tiles_x,
        "tile_height": tiles.tiles_y,
        "tiles_per_gauss": tiles.tiles_per_gauss,
        "isect_ids": tiles.isect_ids,
        "flatten_ids": tiles.flatten_ids.int(),
        "isect_offsets": tiles.tile_starts.int().reshape(tiles.n_cameras, tiles.tiles_y, tiles.tiles_x),
        "width": width,
        "height": height,
        "tile_size": tiles.tile_size,
        "n_cameras": tiles.n_cameras,
    }


class _AbsGradSink:
    """Receives per-intersection absolute gradients of the 2-D means; keeps them as `means2d.absgrad`."""

    def __init__(self, means2d: Tensor, conics: Tensor, tiles: _TileIntersections) -> None:
        self.means2d = means2d
        self.flatten_ids = tiles.flatten_ids
        with torch.no_grad():
            # Per intersection: the mean relative to the tile centre, then the conic (a, b, c).
            mean = means2d.reshape(-1, 2)[tiles.flatten_ids] - _tile_centres(tiles).to(means2d.dtype)
            self.geometry = torch.cat([mean, conics.reshape(-1, 3)[tiles.flatten_ids]], dim=-1)
        means2d.absgrad = torch.zeros_like(means2d)

    def deliver(self, per_intersection: Tensor) -> None:
        """Sum `per_intersection` [M, 2] into one value per camera and Gaussian."""
        absgrad = torch.zeros_like(self.means2d).reshape(-1, 2)
        absgrad.index_add_(0, self.flatten_ids, per_intersection)
        self.means2d.absgrad = absgrad.reshape(self.means2d.shape)


@dataclass
class _Chunk:
    """One dense block: `tiles` (ids) times the Gaussians of rank `first .. first + size - 1` in them."""

    tiles: Tensor  # [B]
    first: int
    size: int
    start_transmittance: Tensor  # [B, P] of each pixel before the block, as if no pixel ever stopped


@dataclass
class _Block:
    """Front-to-back compositing of one dense block [B, P, G]."""

    alpha: Tensor
    """[B, P, G] alpha each pixel uses: clamped, and 0 where skipped or once the pixel has stopped."""
    transmittance: Tensor
    """[B, P, G + 1] light left before each Gaussian and, last, after the block, as if no pixel ever
    stopped; exact for the Gaussians a pixel uses."""
    weights: Tensor
    """[B, P, G] share of each Gaussian's colour in each pixel: alpha times the transmittance before."""
    stopped: bool
    """Whether some pixel stopped, in this block or before it."""


class _Workspace:
    """Scratch tensors reused from block to block.

    Blocks need several temporaries of about `chunk_elements` entries each; allocating them afresh for
    every block costs more in page faults than the arithmetic on them.
    """

    def __init__(self, like: Tensor) -> None:
        self._like = like
        self._buffers: dict[str, Tensor] = {}

    def get(self, name: str, *shape: int) -> Tensor:
        """An uninitialised tensor of `shape`, sharing memory with earlier tensors of the same name."""
        size = math.prod(shape)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.numel() < size:
            buffer = self._buffers[name] = self._like.new_empty(size)
        return buffer[:size].view(shape)


class _TileCompositing(torch.autograd.Function):
    """Front-to-back compositing of all tiles, with an analytic, chunk-recomputing backward pass.

    Inputs: per-intersection log2-alpha coefficients [M, 6] and features [M, D]. Outputs, tile-major
    with the P pixels of a tile row-major: colours [tiles, P, D] and final transmittance [tiles, P].
    """

    @staticmethod
    def forward(ctx, coefficients, features, tiles, chunk_elements, absgrad_sink):
        n_isects, n_channels = features.shape
        n_tiles, n_pixels = tiles.tile_counts.numel(), tiles.pixels_per_tile
        pixel_features = _pixel_features(tiles.tile_size, coefficients.dtype, coefficients.device)
        padded_coefficients, padded_features = _with_transparent_slot(coefficients, features)

        workspace = _Workspace(coefficients)
        colors = features.new_zeros(n_tiles, n_pixels, n_channels)
        transmittance = coefficients.new_ones(n_tiles, n_pixels)
        unstopped_transmittance = coefficients.new_ones(n_tiles, n_pixels)
        chunks: list[_Chunk] = []
        for group, per_chunk, most in _tile_groups(tiles.tile_counts, n_pixels, chunk_elements):
            group_counts = tiles.tile_counts[group]
            for first in range(0, most, per_chunk):
                active = group[group_counts > first]
                active = active[unstopped_transmittance[active].amax(dim=1) > TRANSMITTANCE_MIN]
                if active.numel() == 0:  # every pixel of the group has stopped
                    break
                indices = _block_indices(tiles, active, first, per_chunk, padding=n_isects)
                start = unstopped_transmittance[active]
                block = _composite_block(padded_coefficients[indices], pixel_features, start, workspace)
                colors[active] += _weighted_sum(block.weights, padded_features[indices])
                if block.stopped:  # the light the block's Gaussians took is all that is gone
                    transmittance[active] -= block.weights.sum(dim=-1)
                else:
                    transmittance[active] = block.transmittance[..., -1]
                unstopped_transmittance[active] = block.transmittance[..., -1]
                chunks.append(_Chunk(active, first, per_chunk, start))

        ctx.save_for_backward(coefficients, features, transmittance)
        ctx.tiles, ctx.chunks, ctx.absgrad_sink = tiles, chunks, absgrad_sink
        return colors, transmittance

    @staticmethod
    def backward(ctx, grad_colors, grad_transmittance):
        coefficients, features, final_transmittance = ctx.saved_tensors
        tiles, sink = ctx.tiles, ctx.absgrad_sink
        n_isects = features.shape[0]
        pixel_features = _pixel_features(tiles.tile_size, coefficients.dtype, coefficients.device)
        padded_coefficients, padded_features = _with_transparent_slot(coefficients, features)
        workspace = _Workspace(coefficients)
        grad_coefficients = torch.zeros_like(padded_coefficients)
        grad_features = torch.zeros_like(padded_features)
        if sink is not None:
            absgrad = coefficients.new_zeros(n_isects + 1, 2)
            padded_geometry = torch.cat([sink.geometry, sink.geometry.new_zeros(1, 5)])

        # Walking each tile back to front, `behind` [tiles, P] is the derivative of the loss with respect
        # to a pixel's transmittance before the Gaussians still to visit, times that transmittance: the
        # colour those Gaussians add, weighted by dL/dcolour, plus the final transmittance's share.
        behind = final_transmittance * grad_transmittance
        for chunk in reversed(ctx.chunks):
            indices = _block_indices(tiles, chunk.tiles, chunk.first, chunk.size, padding=n_isects)
            start = chunk.start_transmittance
            block = _composite_block(padded_coefficients[indices], pixel_features, start, workspace)
            weights, shape = block.weights, block.weights.shape
            grad_color = grad_colors[chunk.tiles]
            color_gain = workspace.get("color_gain", *shape)
            torch.bmm(grad_color, padded_features[indices].transpose(1, 2), out=color_gain)
            contribution = torch.mul(weights, color_gain, out=workspace.get("contribution", *shape))
            total = contribution.sum(dim=-1, keepdim=True)
            behind_chunk = behind[chunk.tiles]
            behind[chunk.tiles] = behind_chunk + total[..., 0]

            # dL/d alpha_i = T_i * gain_i - (sum of contribution_j for j > i, plus behind) / (1 - alpha_i)
            cumulative = torch.cumsum(contribution, dim=-1, out=workspace.get("cumulative", *shape))
            from_behind = torch.sub(total + behind_chunk[..., None], cumulative, out=cumulative)
            one = block.alpha.new_ones(())
            from_behind.div_(torch.sub(one, block.alpha, out=workspace.get("one_minus_alpha", *shape)))
            grad_alpha = color_gain.mul_(block.transmittance[..., :-1]).sub_(from_behind)
            # Only the Gaussians a pixel used, unclamped, pass a gradient on to their opacity and shape;
            # there d alpha / d log2(alpha) = alpha * ln 2: alpha is negated here, ln 2 and the sign are
            # applied to the (much smaller) products below.
            negated_alpha = torch.neg(block.alpha, out=workspace.get("negated_alpha", *shape))
            negated_unclamped_alpha = F.threshold(negated_alpha, -ALPHA_MAX, 0.0, inplace=True)
            grad_alpha.mul_(negated_unclamped_alpha)

            # The products read the large [B, P, G] operand in its own layout, which is much faster.
            grad_log2_coefficients = torch.matmul(pixel_features.T, grad_alpha).mul_(-math.log(2.0))
            grad_coefficients[indices] = grad_log2_coefficients.transpose(1, 2)
            grad_features[indices] = torch.bmm(grad_color.transpose(1, 2), weights).transpose(1, 2)
            if sink is not None:
                grad_log2_alpha = grad_alpha.mul_(-math.log(2.0))
                geometry = padded_geometry[indices]
                absgrad[indices] = _abs_mean_gradients(grad_log2_alpha, geometry, pixel_features)

        if sink is not None:
            sink.deliver(absgrad[:n_isects])
        return grad_coefficients[:n_isects], grad_features[:n_isects], None, None, None


def _tile_groups(
    tile_counts: Tensor, pixels_per_tile: int, chunk_elements: int
) -> Iterator[tuple[Tensor, int, int]]:
    """Yield `(tile ids, Gaussians per chunk, most Gaussians in one of the tiles)` for groups of tiles.

    Tiles holding Gaussians are visited from the most to the least crowded, so a group's tiles hold
    similar numbers of Gaussians and those still holding some at a given rank come first.
    """
    busy = torch.nonzero(tile_counts > 0).squeeze(1)
    busy = busy[torch.argsort(tile_counts[busy], descending=True, stable=True)]
    counts = tile_counts[busy].tolist()
    start = 0
    while start < len(counts):
        most = counts[start]
        per_chunk = max(1, min(most, MAX_CHUNK_GAUSSIANS, chunk_elements // pixels_per_tile))
        n_tiles = max(1, chunk_elements // (pixels_per_tile * per_chunk))
        yield busy[start : start + n_tiles], per_chunk, most
        start += n_tiles


def _block_indices(
    tiles: _TileIntersections, tile_ids: Tensor, first: int, size: int, padding: int
) -> Tensor:
    """Intersection indices [B, size] of a block; `padding` where a tile has run out of Gaussians."""
    rank = torch.arange(first, first + size, device=tile_ids.device)
    indices = tiles.tile_starts[tile_ids, None] + rank
    return torch.where(rank < tiles.tile_counts[tile_ids, None], indices, padding)


def _with_transparent_slot(coefficients: Tensor, features: Tensor) -> tuple[Tensor, Tensor]:
    """Append an intersection that is transparent everywhere, for the padding slots of blocks."""
    transparent = coefficients.new_zeros(1, 6)
    transparent[0, 0] = _TRANSPARENT
    no_features = features.new_zeros(1, features.shape[1])
    return torch.cat([coefficients, transparent]), torch.cat([features, no_features])


def _largest_below(value: float, dtype: torch.dtype) -> float:
    """The largest number of `dtype` below `value`."""
    return float(torch.nextafter(torch.tensor(value, dtype=dtype), torch.tensor(-math.inf, dtype=dtype)))


def _composite_block(
    coefficients: Tensor, pixel_features: Tensor, start_transmittance: Tensor, workspace: _Workspace
) -> _Block:
    """Alpha-composite a block, given its Gaussians' coefficients [B, G, 6], front to back.

    Boolean masks are slow on CPUs, so the rules are applied with `threshold` (which keeps the values
    strictly above a bound and zeroes the others) and `sign`, in place where possible.
    """
    n_tiles, n_gaussians = coefficients.shape[:2]
    n_pixels = pixel_features.shape[0]
    alpha = workspace.get("alpha", n_tiles, n_pixels, n_gaussians)
    torch.matmul(pixel_features, coefficients.transpose(1, 2), out=alpha).exp2_().clamp_max_(ALPHA_MAX)
    alpha = F.threshold(alpha, _largest_below(ALPHA_MIN, alpha.dtype), 0.0, inplace=True)
    transmittance = workspace.get("transmittance", n_tiles, n_pixels, n_gaussians + 1)
    transmittance[..., 0] = start_transmittance
    torch.sub(alpha.new_ones(()), alpha, out=transmittance[..., 1:])
    transmittance.cumprod_(dim=-1)
    # Transmittance never increases along a pixel's list, so a pixel uses exactly the Gaussians after
    # which it stays above the threshold.
    stopped = bool(transmittance[..., -1].min() <= TRANSMITTANCE_MIN)
    if stopped:
        alpha.mul_(torch.sign(F.threshold(transmittance[..., 1:], TRANSMITTANCE_MIN, 0.0)))
    weights = workspace.get("weights", n_tiles, n_pixels, n_gaussians)
    torch.mul(alpha, transmittance[..., :-1], out=weights)
    return _Block(alpha=alpha, transmittance=transmittance, weights=weights, stopped=stopped)


def _weighted_sum(weights: Tensor, features: Tensor) -> Tensor:
    """`weights [B, P, G] @ features [B, G, D]`, computed transposed, which is faster for small D."""
    return torch.bmm(features.transpose(1, 2), weights.transpose(1, 2)).transpose(1, 2)


def _abs_mean_gradients(grad_log2_alpha: Tensor, geometry: Tensor, pixel_features: Tensor) -> Tensor:
    """Sums over pixels of |dL/d mean2d| for each Gaussian of a block, [B, G, 2] (gsplat's absgrad)."""
    mx, my, a, b, c = (value[:, None, :] for value in geometry.unbind(-1))
    dx = mx - pixel_features[None, :, 1, None]
    dy = my - pixel_features[None, :, 2, None]
    # d log2(alpha) / d mean = -(conic @ d) / ln 2
    scale = grad_log2_alpha * _LOG2_E
    grad_x = (scale * (a * dx + b * dy)).abs_().sum(dim=1)
    grad_y = (scale * (b * dx + c * dy)).abs_().sum(dim=1)
    return torch.stack([grad_x, grad_y], dim=-1)
