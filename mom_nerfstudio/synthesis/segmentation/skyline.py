"""The sky line as the cheapest path across the image: one boundary row per column, changing smoothly between
neighbouring columns except at a few jumps (the side of a building, a tree trunk).

Column x's boundary b(x) puts rows 0 .. b(x) - 1 in the sky and the rest on the ground. The path minimises the sum
over columns of `unary[b(x), x]` plus, between neighbouring columns, `step` per row the boundary moves, at most
`jump` (a truncated linear penalty), by dynamic programming in O(rows x columns).
"""

from __future__ import annotations

import numpy as np


def cheapest_skyline(unary: np.ndarray, step: float, jump: float) -> np.ndarray:
    """The boundary rows (int, one per column, in 0 .. rows) minimising the path's cost.

    Args:
        unary: [rows + 1, columns] cost of each boundary row in each column.
        step: cost per row of a boundary that moves between neighbouring columns.
        jump: the most a move between neighbouring columns costs, however far it goes.
    """
    boundaries, columns = unary.shape
    total = unary[:, 0].astype(np.float64)
    came_from = np.zeros((boundaries, columns), dtype=np.int32)
    for column in range(1, columns):
        best, origin = _linear_envelope(total, step)
        cheapest = int(np.argmin(total))
        jumps = total[cheapest] + jump < best
        best[jumps] = total[cheapest] + jump
        origin[jumps] = cheapest
        total = best + unary[:, column]
        came_from[:, column] = origin
    path = np.zeros(columns, dtype=np.int32)
    path[-1] = int(np.argmin(total))
    for column in range(columns - 1, 0, -1):
        path[column - 1] = came_from[path[column], column]
    return path


def _linear_envelope(values: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """For every index i: min over j of values[j] + step |i - j|, and the j that attains it."""
    index = np.arange(len(values))
    # From below: values[j] - step j, running minimum, plus step i.
    from_below = values - step * index
    below_min = np.minimum.accumulate(from_below)
    below_arg = np.maximum.accumulate(np.where(from_below <= below_min, index, 0))
    # From above: the same on the reversed array.
    from_above = (values + step * index)[::-1]
    above_min = np.minimum.accumulate(from_above)
    above_arg = np.maximum.accumulate(np.where(from_above <= above_min, index, 0))
    below_cost = below_min + step * index
    above_cost = above_min[::-1] - step * index
    above_origin = (len(values) - 1 - above_arg)[::-1]
    use_below = below_cost <= above_cost
    return np.where(use_below, below_cost, above_cost), np.where(use_below, below_arg, above_origin)
