"""Expert shower features against hand-computed answers on tiny windows."""

import warnings

import numpy as np
import pytest

from caloml.errors import InputError
from caloml.observables import expert


def empty(n=1, ecal=(5, 4, 3), hcal=(3, 3, 4)):
    return np.zeros((n, *ecal), np.float32), np.zeros((n, *hcal), np.float32)


def test_feature_names_are_triforce_set_plus_the_two_widths():
    names = expert.CLASSIFICATION_FEATURE_NAMES
    assert len(names) == 47 and len(set(names)) == 47  # 10 scalars, 2 x 18 moments, R9
    assert {"ECALmomentX1", "ECALmomentZ6", "HCALmomentY4", "R9", "HCAL_ECAL_nHitsRatio"} <= set(
        names)
    assert expert.FEATURE_NAMES == names + ("ECAL_rmsX_cells", "HCAL_rmsXY_cells")
    ecal, hcal = empty()
    assert tuple(expert.expert_features(ecal, hcal)) == expert.FEATURE_NAMES


def test_single_cell():
    ecal, hcal = empty()
    ecal[0, 2, 1, 0] = 5.0
    hcal[0, 1, 2, 3] = 2.0
    f = expert.expert_features(ecal, hcal)
    assert f["ECAL_E"][0] == 5.0 and f["HCAL_E"][0] == 2.0
    assert f["ECAL_nHits"][0] == 1 and f["HCAL_nHits"][0] == 1
    assert f["HCAL_ECAL_ERatio"][0] == pytest.approx(0.4)
    assert f["HCAL_ECAL_nHitsRatio"][0] == 1.0
    assert f["ECAL_ratioFirstLayerToTotalE"][0] == 1.0
    assert f["ECAL_ratioFirstLayerToSecondLayerE"][0] == 0.0  # empty second layer: 0, not inf
    assert f["HCAL_ratioFirstLayerToTotalE"][0] == 0.0  # the HCAL cell is in layer 3
    # Moment 1 is the index counted from the window's first cell; higher moments vanish.
    assert (f["ECALmomentX1"][0], f["ECALmomentY1"][0], f["ECALmomentZ1"][0]) == (2, 1, 0)
    assert (f["HCALmomentX1"][0], f["HCALmomentY1"][0], f["HCALmomentZ1"][0]) == (1, 2, 3)
    for calo in ("ECAL", "HCAL"):
        for axis in "XYZ":
            for order in range(2, 7):
                assert f[f"{calo}moment{axis}{order}"][0] == 0.0
    assert f["R9"][0] == 1.0
    assert f["ECAL_rmsX_cells"][0] == 0.0 and f["HCAL_rmsXY_cells"][0] == 0.0
    assert all(v.dtype == np.float64 and v.shape == (1,) for v in f.values())


def test_two_cells_give_the_raw_central_moments():
    ecal, hcal = empty()
    ecal[0, 0, 0, 1] = 1.0
    ecal[0, 4, 0, 1] = 3.0
    f = expert.expert_features(ecal, hcal)
    # mean = (0·1 + 4·3) / 4 = 3; offsets −3 and +1.
    assert f["ECALmomentX1"][0] == 3.0
    assert f["ECALmomentX2"][0] == pytest.approx((1 * 9 + 3 * 1) / 4)  # 3
    assert f["ECALmomentX3"][0] == pytest.approx((1 * -27 + 3 * 1) / 4)  # −6
    assert f["ECALmomentX4"][0] == pytest.approx((1 * 81 + 3 * 1) / 4)  # 21
    assert f["ECALmomentX5"][0] == pytest.approx((1 * -243 + 3) / 4)
    assert f["ECALmomentX6"][0] == pytest.approx((729 + 3) / 4)
    assert f["ECAL_rmsX_cells"][0] == pytest.approx(np.sqrt(3.0))
    assert f["ECALmomentZ1"][0] == 1.0 and f["ECALmomentY2"][0] == 0.0
    assert f["ECAL_ratioFirstLayerToTotalE"][0] == 0.0
    # Empty HCAL: its ratio to the ECAL and its moments are 0.
    assert f["HCAL_ECAL_ERatio"][0] == 0.0 and f["HCALmomentX1"][0] == 0.0


def test_layer_ratios_and_hcal_xy_width():
    ecal, hcal = empty()
    ecal[0, 1, 1, 0] = 1.0
    ecal[0, 1, 1, 1] = 4.0
    ecal[0, 1, 1, 2] = 5.0
    hcal[0, 0, 0, 0] = 2.0
    hcal[0, 2, 2, 1] = 2.0
    f = expert.expert_features(ecal, hcal)
    assert f["ECAL_ratioFirstLayerToTotalE"][0] == pytest.approx(0.1)
    assert f["ECAL_ratioFirstLayerToSecondLayerE"][0] == pytest.approx(0.25)
    assert f["HCAL_ratioFirstLayerToSecondLayerE"][0] == 1.0
    assert f["HCAL_ratioFirstLayerToTotalE"][0] == 0.5
    # Barycentre (1, 1): each cell lies √2 cells away, so the (x, y) RMS is √(1 + 1).
    assert f["HCAL_rmsXY_cells"][0] == pytest.approx(np.sqrt(2.0))
    assert f["HCALmomentZ1"][0] == 0.5
    assert f["HCAL_ECAL_ERatio"][0] == pytest.approx(0.4)


def test_hits_count_cells_strictly_above_the_threshold():
    ecal, hcal = empty()
    ecal[0, 0, 0, 0] = 0.1
    ecal[0, 1, 0, 0] = 0.11
    ecal[0, 2, 0, 0] = 0.5
    hcal[0, 0, 0, 0] = 0.3
    f = expert.expert_features(ecal, hcal)
    assert f["ECAL_nHits"][0] == 2 and f["HCAL_nHits"][0] == 1
    assert f["HCAL_ECAL_nHitsRatio"][0] == 0.5
    f = expert.expert_features(ecal, hcal, hit_threshold=0.4)
    assert f["ECAL_nHits"][0] == 1 and f["HCAL_nHits"][0] == 0


def test_r9_of_a_constructed_image():
    image = np.zeros((1, 5, 5))
    image[0, :3, :3] = 1.0  # a full 3 x 3 block: 9
    image[0, 4, 4] = 4.0  # every block holding it holds only (2, 2) besides: 5
    assert expert.r9(image)[0] == pytest.approx(9 / 13)
    # Through expert_features the ECAL is summed over its layers first.
    ecal, hcal = empty(ecal=(5, 5, 2))
    ecal[0, :3, :3, 0] = 0.5
    ecal[0, :3, :3, 1] = 0.5
    ecal[0, 4, 4, 1] = 4.0
    assert expert.expert_features(ecal, hcal)["R9"][0] == pytest.approx(9 / 13)
    # Blocks never reach outside the image: a corner cell and its neighbours.
    corner = np.zeros((1, 4, 4))
    corner[0, 0, 0], corner[0, 3, 3] = 2.0, 2.0
    assert expert.r9(corner)[0] == pytest.approx(0.5)


def test_empty_events_are_all_zero_without_warnings():
    ecal, hcal = empty(n=3)
    ecal[1, 2, 2, 0] = 1.0  # one non-empty event among empty ones
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = expert.expert_features(ecal, hcal)
    for name, values in f.items():
        assert values[0] == 0.0 and values[2] == 0.0, name
        assert np.all(np.isfinite(values)), name
    assert f["ECAL_E"][1] == 1.0 and f["R9"][1] == 1.0


def brute_force_moment(projection, order):
    """One event's moment by plain Python loops: the definition, written out."""
    total = sum(projection)
    if total == 0:
        return 0.0
    mean = sum(e * i for i, e in enumerate(projection)) / total
    if order == 1:
        return mean
    return sum(e * (i - mean) ** order for i, e in enumerate(projection)) / total


def test_random_windows_match_the_written_out_definitions_and_chunking():
    rng = np.random.default_rng(3)
    ecal = rng.exponential(size=(7, 6, 5, 4)).astype(np.float32) * (rng.random((7, 6, 5, 4)) < 0.3)
    hcal = rng.exponential(size=(7, 3, 3, 5)).astype(np.float32)
    f = expert.expert_features(ecal, hcal, chunk_events=3)
    whole = expert.expert_features(ecal, hcal, chunk_events=100)
    for name in expert.FEATURE_NAMES:
        np.testing.assert_allclose(f[name], whole[name], rtol=1e-12, err_msg=name)
    for event in range(7):
        e = ecal[event].astype(np.float64)
        projections = {"X": e.sum(axis=(1, 2)), "Y": e.sum(axis=(0, 2)), "Z": e.sum(axis=(0, 1))}
        for axis, projection in projections.items():
            for order in (1, 2, 3, 6):
                assert f[f"ECALmoment{axis}{order}"][event] == pytest.approx(
                    brute_force_moment(list(projection), order), rel=1e-9, abs=1e-9)
        z_sum = e.sum(axis=2)
        best = max(z_sum[i:i + 3, j:j + 3].sum() for i in range(4) for j in range(3))
        assert f["R9"][event] == pytest.approx(best / z_sum.sum())


def test_axis_moments_of_a_symmetric_projection():
    moments = expert.axis_moments(np.array([[1.0, 0.0, 2.0, 0.0, 1.0]]))
    # mean 2; offsets ±2 carry weight 1 each of 4: odd moments 0, m_k = 2·2^k / 4.
    np.testing.assert_allclose(moments[0], [2.0, 2.0, 0.0, 8.0, 0.0, 32.0])


def test_bad_windows_are_named():
    ecal, hcal = empty(n=2)
    with pytest.raises(InputError, match=r"ecal must be an array \[N, X, Y, Z\]"):
        expert.expert_features(ecal[..., 0], hcal)
    with pytest.raises(InputError, match="ecal has 2 events but hcal 1"):
        expert.expert_features(ecal, hcal[:1])
    with pytest.raises(InputError, match="needs at least 2 layers"):
        expert.expert_features(ecal, hcal[..., :1])
    with pytest.raises(InputError, match=r"r9 expects z-summed images \[N, X, Y\] with X, Y >= 3"):
        expert.r9(np.zeros((1, 2, 5)))


def test_feature_matrix_orders_columns_and_names_missing_features():
    features = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    np.testing.assert_array_equal(expert.feature_matrix(features, ("b", "a")),
                                  [[3.0, 1.0], [4.0, 2.0]])
    with pytest.raises(InputError, match="no feature c"):
        expert.feature_matrix(features, ("a", "c"))
