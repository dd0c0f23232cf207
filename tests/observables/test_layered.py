"""CaloGAN's 1D shower shapes against hand-computed answers and feats1d's own formulas."""

import math

import numpy as np
import pytest

from caloml.observables import layered

EPS = layered.LATERAL_WIDTH_EPSILON


def tiny_showers():
    """Four showers in three layers of [3, 4], [2, 2] and [2, 1] cells (MeV).

    0: energy in every layer; 1: layer 0 only; 2: empty; 3: layer 1 only.
    """
    layer0 = np.zeros((4, 3, 4))
    layer1 = np.zeros((4, 2, 2))
    layer2 = np.zeros((4, 2, 1))
    layer0[0] = [[1, 0, 0, 0], [2, 0, 0, 1], [0, 0, 0, 0]]
    layer1[0] = [[3, 0], [0, 1]]
    layer2[0] = [[0], [2]]
    layer0[1, 2, 3] = 5.0
    layer1[3] = [[1, 1], [0, 0]]
    return [layer0, layer1, layer2]


def test_layer_energies_total_and_fractions():
    layers = tiny_showers()
    np.testing.assert_array_equal(layered.layer_energies(layers),
                                  [[4, 4, 2], [5, 0, 0], [0, 0, 0], [0, 2, 0]])
    np.testing.assert_array_equal(layered.total_energy(layers), [10, 5, 0, 2])
    fractions = layered.energy_fractions(layers)
    np.testing.assert_allclose(fractions[[0, 1, 3]], [[0.4, 0.4, 0.2], [1, 0, 0], [0, 1, 0]])
    assert np.all(np.isnan(fractions[2]))  # no energy: 0/0 as in feats1d


def test_sparsity_per_layer():
    np.testing.assert_allclose(layered.layer_sparsity(tiny_showers()),
                               [[3 / 12, 2 / 4, 1 / 2], [1 / 12, 0, 0], [0, 0, 0], [0, 2 / 4, 0]])


def test_depth_is_the_deepest_layer_with_energy():
    np.testing.assert_array_equal(layered.depth(tiny_showers()), [2, 0, 0, 1])
    # Any number of layers; a gap does not matter, negative sums count as energy (!= 0).
    four = [np.ones((2, 1, 1)), np.zeros((2, 1, 1)), np.array([[[1.0]], [[0.0]]]),
            np.array([[[0.0]], [[-1.0]]])]
    np.testing.assert_array_equal(layered.depth(four), [2, 3])


def test_shower_depth_and_its_width():
    layers = tiny_showers()
    # Shower 0: l_d = 4 + 2·2 = 8, l_d2 = 4 + 4·2 = 12, E = 10 -> s_d 0.8, sqrt(1.2 - 0.64).
    np.testing.assert_array_equal(layered.lateral_depth(layers), [8, 0, 0, 2])
    np.testing.assert_array_equal(layered.lateral_depth2(layers), [12, 0, 0, 2])
    depth = layered.shower_depth(layers)
    np.testing.assert_allclose(depth[[0, 1, 3]], [0.8, 0.0, 1.0])
    width = layered.shower_depth_width(layers)
    np.testing.assert_allclose(width[[0, 1, 3]], [math.sqrt(0.56), 0.0, 0.0], atol=1e-12)
    assert np.isnan(depth[2]) and np.isnan(width[2])


def test_lateral_width_uses_feats1d_row_centres_and_epsilon():
    layer0, layer1, layer2 = tiny_showers()
    # Layer 0 (3 rows over ±240 mm: centres -160, 0, 160), shower 0: row energies 1, 3, 0.
    e = 4 + EPS
    expected = math.sqrt(1 * 160**2 / e - (-160 / e) ** 2)
    width0 = layered.lateral_width(layer0)
    assert width0[0] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(math.sqrt(4800), rel=1e-6)
    # Layer 1 (2 rows: centres -120, 120), shower 0: row energies 3, 1 -> sqrt(14400 - 3600).
    assert layered.lateral_width(layer1)[0] == pytest.approx(math.sqrt(10800), rel=1e-6)
    # One row holds everything: feats1d's epsilon leaves sqrt(c² ε / E) instead of 0.
    assert layered.lateral_width(layer2)[0] == pytest.approx(120 * math.sqrt(EPS / 2), rel=1e-3)
    assert layered.lateral_width(layer2, epsilon=0.0)[0] == pytest.approx(0.0, abs=1e-5)
    # An empty layer: 0 / ε -> width 0.
    assert layered.lateral_width(layer1)[1] == 0.0
    # A different extent scales the coordinate.
    assert layered.lateral_width(layer1, extent=48.0)[0] == pytest.approx(
        math.sqrt(10800) / 10, rel=1e-6)


def test_shower_shapes_names_every_observable():
    shapes = layered.shower_shapes(tiny_showers())
    per_layer = ("energy_layer", "energy_fraction_layer", "sparsity_layer",
                 "lateral_width_layer", "energy_ratio_layer")
    assert set(shapes) == {"total_energy", "depth", "lateral_depth", "shower_depth",
                           "shower_depth_width"} | {f"{k}{i}" for k in per_layer for i in range(3)}
    assert all(v.shape == (4,) for v in shapes.values())
    # E_ratio: (2 - 1) / 3 and (3 - 1) / 4 and (2 - 0) / 2 for shower 0; NaN for empty layers.
    np.testing.assert_allclose([shapes[f"energy_ratio_layer{i}"][0] for i in range(3)],
                               [1 / 3, 0.5, 1.0])
    assert np.isnan(shapes["energy_ratio_layer1"][1]) and np.isnan(shapes["energy_ratio_layer0"][2])
    assert shapes["energy_ratio_layer0"][1] == 1.0  # one hot cell


def _feats1d(d):
    """hep-lbdl/CaloGAN analysis/feats1d.py, transcribed as the oracle (three layers)."""
    eps = 1e-6
    e = [d[f"layer_{i}"].sum(axis=(1, 2)) for i in range(3)]
    etot = e[0] + e[1] + e[2]
    maxdepth = 2 * (e[2] != 0)
    maxdepth[maxdepth == 0] = 1 * (d["layer_1"][maxdepth == 0].sum(axis=(1, 2)) != 0)
    ld = (d["layer_2"] * 2).sum(axis=(1, 2)) + d["layer_1"].sum(axis=(1, 2))
    ld2 = (d["layer_2"] * 4).sum(axis=(1, 2)) + d["layer_1"].sum(axis=(1, 2))
    widths = []
    for i, cells in enumerate((3, 12, 12)):
        bins = np.linspace(-240, 240, cells + 1)
        centres = ((bins[1:] + bins[:-1]) / 2.0).reshape(-1, 1)
        x = (d[f"layer_{i}"] * centres).sum(axis=(1, 2))
        x2 = (d[f"layer_{i}"] * centres**2).sum(axis=(1, 2))
        widths.append(np.sqrt(x2 / (e[i] + eps) - (x / (e[i] + eps)) ** 2))
    return {"depth": maxdepth, "total_energy": etot, "lateral_depth": ld,
            "shower_depth": ld / etot, "shower_depth_width": np.sqrt(ld2 / etot - (ld / etot) ** 2),
            **{f"energy_layer{i}": e[i] for i in range(3)},
            **{f"energy_fraction_layer{i}": e[i] / etot for i in range(3)},
            **{f"lateral_width_layer{i}": widths[i] for i in range(3)}}


def test_shower_shapes_match_feats1d_on_random_calogan_sized_showers():
    rng = np.random.default_rng(3)
    shapes = {"layer_0": (3, 96), "layer_1": (12, 12), "layer_2": (12, 6)}
    d = {k: rng.exponential(50.0, (64, *s)) * (rng.random((64, *s)) < 0.3)
         for k, s in shapes.items()}
    d["layer_2"][:16] = 0.0  # showers that stop in layer 1
    d["layer_1"][:8] = 0.0
    ours = layered.shower_shapes([d["layer_0"], d["layer_1"], d["layer_2"]])
    with np.errstate(invalid="ignore", divide="ignore"):
        theirs = _feats1d(d)
    for name, value in theirs.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-9, atol=1e-9, err_msg=name)
    np.testing.assert_array_equal(ours["depth"][:16], [0] * 8 + [1] * 8)


def test_bad_layers_are_refused():
    with pytest.raises(ValueError, match="layer 1"):
        layered.layer_energies([np.zeros((3, 2, 2)), np.zeros((4, 2, 2))])
    with pytest.raises(ValueError, match="at least one layer"):
        layered.total_energy([])
