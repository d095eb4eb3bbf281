import itertools

import numpy as np

from mom_nerfstudio.synthesis.segmentation.skyline import _linear_envelope, cheapest_skyline


def path_cost(unary: np.ndarray, path: np.ndarray, step: float, jump: float) -> float:
    moves = np.minimum(step * np.abs(np.diff(path)), jump)
    return float(unary[path, np.arange(len(path))].sum() + moves.sum())


def test_the_linear_envelope_is_the_brute_force_minimum():
    rng = np.random.default_rng(0)
    for _ in range(50):
        values, step = rng.normal(size=15), rng.uniform(0.0, 1.0)
        best, origin = _linear_envelope(values, step)
        expected = [min(values[j] + step * abs(i - j) for j in range(15)) for i in range(15)]
        np.testing.assert_allclose(best, expected)
        np.testing.assert_allclose(values[origin] + step * np.abs(np.arange(15) - origin), expected)


def test_the_skyline_is_the_cheapest_of_all_paths():
    rng = np.random.default_rng(1)
    unary = rng.normal(size=(5, 4))
    step, jump = 0.4, 0.9
    found = cheapest_skyline(unary, step, jump)
    cheapest = min(path_cost(unary, np.array(path), step, jump) for path in itertools.product(range(5), repeat=4))
    assert abs(path_cost(unary, found, step, jump) - cheapest) < 1e-9


def test_the_skyline_follows_a_step_and_jumps_only_where_it_pays():
    rows, columns = 40, 30
    truth = np.where(np.arange(columns) < 15, 10, 25)
    unary = np.abs(np.arange(rows + 1)[:, None] - truth[None, :]).astype(float)
    np.testing.assert_array_equal(cheapest_skyline(unary, step=0.3, jump=2.0), truth)
