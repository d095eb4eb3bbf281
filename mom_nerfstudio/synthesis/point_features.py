"""What every point of the photo carries into the synthesised views, and when a view counts a pixel as seen."""

from __future__ import annotations

RGB = slice(0, 3)
"""The point's colour."""
MOVING = 3
"""The motion mask's value at the point's pixel (above 0.5: the point moves)."""
OPAQUE = 4
"""The opacity of the point's pixel (below 0.5: a transparent pixel of a cut-out, never trusted)."""
NUM_FEATURES = 5

COVERAGE_THRESHOLD = 0.5
"""A pixel whose splat weight reaches this fraction of a full pixel counts as seen."""
