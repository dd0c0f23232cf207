"""The jet super-resolution assessment on synthetic jets and an exact up-sampling stand-in."""

import json
import os

import keras
import numpy as np
import pytest
from keras import layers

from caloml import outputs
from caloml.errors import InputError
from caloml.jet_sr import config, evaluation, networks
from caloml.jets import observables as jet_obs

SIZE = 32  # HR pixels per side (the real images have 160)
FACTOR = 4
PIXEL_SIZE = 0.05  # rad: the 32 pixels span ±0.8, the jet radius


def synthetic_jets(num, seed=0, size=SIZE):
    """1–3 Gaussian-blob prongs of 25 exponential-pT hits each around the image centre."""
    rng = np.random.default_rng(seed)
    images = np.zeros((num, size, size), np.float32)
    for i in range(num):
        for _ in range(rng.integers(1, 4)):
            centre = size / 2 + rng.normal(0, size / 8, 2)
            pos = np.clip(np.round(centre + rng.normal(0, 1.5, (25, 2))), 0, size - 1).astype(int)
            np.add.at(images[i], (pos[:, 0], pos[:, 1]),
                      rng.exponential(10.0, 25).astype(np.float32))
    return images


def upsampler(factor=FACTOR, as_dict=True, offset=0.0):
    """Nearest-neighbour up-sampling divided by f² (sums preserved), plus ``offset`` GeV.

    Returns the generator's ``{"sr_power", "sr"}`` dict, or the SR tensor alone.
    """
    lr = keras.Input((None, None, 1), name="lr")
    sr = layers.Rescaling(1.0 / factor**2, offset=offset)(layers.UpSampling2D(factor)(lr))
    if not as_dict:
        return keras.Model(lr, sr)
    power = layers.Identity(name="sr_power")(sr)
    return keras.Model(lr, {"sr_power": power, "sr": layers.Identity(name="sr")(sr)})


@pytest.fixture(scope="module")
def jets():
    hr = synthetic_jets(48)
    return hr, jet_obs.sum_pool(hr, FACTOR)


def _strict_json(metrics):
    return json.loads(json.dumps(outputs.to_json(metrics), allow_nan=False))


def test_super_resolve_shape_threshold_and_batches(jets):
    _, lr = jets
    sr = evaluation.super_resolve(upsampler(), lr, batch_size=5)
    assert sr.shape == (len(lr), SIZE, SIZE) and sr.dtype == np.float32
    expected = np.repeat(np.repeat(lr, FACTOR, axis=1), FACTOR, axis=2) / FACTOR**2
    np.testing.assert_allclose(sr, expected, rtol=1e-6)
    np.testing.assert_array_equal(evaluation.super_resolve(upsampler(as_dict=False), lr), sr)
    threshold = float(np.median(sr[sr > 0]))
    cut = evaluation.super_resolve(upsampler(), lr, threshold_gev=threshold)
    assert cut[cut > 0].min() > threshold
    np.testing.assert_array_equal(cut[cut > 0], sr[sr > threshold])


def test_super_resolve_zeroes_the_floor_and_keeps_nan():
    lr = np.zeros((2, 3, 3), np.float32)
    lr[0, 1, 1] = 16.0
    floor = evaluation.super_resolve(upsampler(offset=-0.5), lr)  # 1 − 0.5 and 0 − 0.5 GeV
    assert floor.min() == 0.0 and np.count_nonzero(floor) == FACTOR**2
    np.testing.assert_array_equal(floor[floor > 0], 0.5)
    lr[1, 0, 0] = np.nan
    assert np.isnan(evaluation.super_resolve(upsampler(), lr)[1, :FACTOR, :FACTOR]).all()


def test_super_resolve_rejects_bad_inputs(jets):
    _, lr = jets
    with pytest.raises(InputError, match=r"lr_images must be \[N, h, w\]"):
        evaluation.super_resolve(upsampler(), lr[0])
    with pytest.raises(InputError, match="threshold_gev"):
        evaluation.super_resolve(upsampler(), lr, threshold_gev=-1.0)
    x = keras.Input((None, None, 1))
    other = keras.Model(x, {"image": layers.UpSampling2D(2)(x)})
    with pytest.raises(InputError, match=r"outputs \['image'\]; expected 'sr'"):
        evaluation.super_resolve(other, lr)


def test_sr_threshold_is_the_smallest_non_zero_pixel():
    hr = np.zeros((2, 4, 4), np.float32)
    hr[0, 1, 2], hr[1, 3, 3], hr[1, 0, 0] = 7.0, 0.25, 3.0
    assert evaluation.sr_threshold(hr) == 0.25
    with pytest.raises(InputError, match="a pixel above 0 GeV"):
        evaluation.sr_threshold(np.zeros((3, 4, 4)))


def test_exact_upsampler_is_lr_consistent(jets):
    hr, lr = jets
    sr = evaluation.super_resolve(upsampler(), lr)
    metrics, arrays = evaluation.assess(hr, lr, sr, FACTOR, PIXEL_SIZE)
    # LR = sum_pool(HR) here, and the stand-in spreads each LR pixel evenly: sums preserved.
    assert metrics["lr_consistency"]["hr"] == pytest.approx(0.0, abs=1e-6)  # float32 sums
    assert metrics["lr_consistency"]["sr"] == pytest.approx(0.0, abs=1e-6)
    for k in range(evaluation.NUM_LEADING):
        assert metrics["leading_constituents"]["lr_vs_lr_gen"][k]["separation_power"] == \
            pytest.approx(0.0, abs=1e-12)
    for name in ("mass", "c02", "tau21"):
        assert metrics["observables"][name]["lr_vs_lr_gen"]["separation_power"] == \
            pytest.approx(0.0, abs=1e-12)
    # An even spread is the worst patch: every sub-pixel 1/f².
    np.testing.assert_allclose(arrays["patches"]["sr"], np.full((FACTOR, FACTOR), 1 / 16))
    assert metrics["patches"]["l1"] == pytest.approx(
        np.abs(arrays["patches"]["hr"] - 1 / 16).sum())
    # The spread SR jets are wider than the HR truth: C_0.2 grows, SR never closer for mass.
    assert metrics["relative_difference"]["c02"]["hr_sr"]["mean"] < 0
    assert arrays["observables"]["sr"]["num_constituents"].mean() > \
        arrays["observables"]["hr"]["num_constituents"].mean()
    assert metrics["paper"]["closer_fraction"] == {"tau2": 0.54, "tau3": 0.61, "c02": 0.74}
    assert metrics["num_jets"] == len(hr) and metrics["factor"] == FACTOR
    document = _strict_json(metrics)
    assert document["closer_fraction"].keys() == set(evaluation.PER_JET_OBSERVABLES)
    assert len(document["leading_constituents"]["wasserstein_hr_sr_gev"]) == 15


def test_perfect_sr_is_always_closer(jets):
    hr, lr = jets
    metrics, arrays = evaluation.assess(hr, lr, hr.copy(), FACTOR, PIXEL_SIZE)
    for name in ("mass", "girth", "c02", "tau1", "tau2"):
        assert metrics["closer_fraction"][name] == 1.0, name
        assert metrics["relative_difference"][name]["hr_sr"]["std"] == 0.0
    np.testing.assert_array_equal(metrics["leading_constituents"]["wasserstein_hr_sr_gev"], 0.0)
    assert metrics["patches"]["l1"] == 0.0 and metrics["average_image_l1"] == 0.0
    # Eq. 10 by hand for one jet.
    hr_mass, lr_mass = arrays["observables"]["hr"]["mass"], arrays["observables"]["lr"]["mass"]
    assert arrays["relative_differences"]["mass"]["hr_lr"][3] == pytest.approx(
        (hr_mass[3] - lr_mass[3]) / hr_mass[3])
    assert metrics["relative_difference"]["mass"]["hr_lr"]["median"] == pytest.approx(
        np.median((hr_mass - lr_mass) / hr_mass))


def test_threshold_removes_the_sr_noise_floor(jets):
    hr, lr = jets
    noisy = hr + np.float32(1e-3)  # a floor on every pixel, far below the softest HR hit
    threshold = evaluation.sr_threshold(hr)
    assert threshold > 1e-3
    raw, _ = evaluation.assess(hr, lr, noisy, FACTOR, PIXEL_SIZE)
    assert raw["observables"]["num_constituents"]["hr_vs_sr"]["sr"]["mean"] == SIZE**2
    metrics, arrays = evaluation.assess(hr, lr, noisy, FACTOR, PIXEL_SIZE, threshold_gev=2e-3)
    np.testing.assert_array_equal(arrays["observables"]["sr"]["num_constituents"],
                                  arrays["observables"]["hr"]["num_constituents"])
    assert metrics["threshold_gev"] == 2e-3


def test_nan_sr_jets_are_undefined_not_empty(jets):
    hr, lr = jets
    sr = hr.copy()
    sr[0, 5, 5] = np.nan
    metrics, arrays = evaluation.assess(hr, lr, sr, FACTOR, PIXEL_SIZE)
    assert metrics["num_non_finite_sr_pixels"] == 1
    assert np.isnan(arrays["observables"]["sr"]["mass"][0])
    assert metrics["observables"]["mass"]["hr_vs_sr"]["sr"]["num_non_finite"] == 1
    assert np.isfinite(arrays["average_images"]["sr"]).all()
    _strict_json(metrics)


def test_assess_rejects_mismatched_images(jets):
    hr, lr = jets
    with pytest.raises(InputError, match=r"down-scaled by 2 need \(48, 16, 16\)"):
        evaluation.assess(hr, lr, hr, 2, PIXEL_SIZE)
    with pytest.raises(InputError, match="SR images have shape"):
        evaluation.assess(hr, lr, hr[:5], FACTOR, PIXEL_SIZE)


def test_factor_scan_loses_active_pixels_with_the_factor(jets):
    hr, _ = jets
    lr = {f: jet_obs.sum_pool(hr, f) for f in (8, 2, 4)}
    metrics, arrays = evaluation.factor_scan(hr, lr, PIXEL_SIZE)
    assert metrics["factors"] == [2, 4, 8]
    means = [metrics["active_pixels"][key]["mean"] for key in ("hr", "lr2", "lr4", "lr8")]
    assert means == sorted(means, reverse=True) and means[-1] < means[0] / 4
    assert set(arrays["observables"]) == {"hr", "lr2", "lr4", "lr8"}
    # Sum pooling keeps the pT of every pixel, only its direction moves: pT barely changes.
    np.testing.assert_allclose(arrays["observables"]["lr2"]["pt"],
                               arrays["observables"]["hr"]["pt"], rtol=0.01)
    assert metrics["observables"]["mass"]["lr8"]["separation_power"] > \
        metrics["observables"]["mass"]["lr2"]["separation_power"]
    _strict_json(metrics)
    with pytest.raises(InputError, match="LR4 images have shape"):
        evaluation.factor_scan(hr, {4: lr[2]}, PIXEL_SIZE)


def test_rrdb_scan_averages_repeated_runs():
    metrics = evaluation.rrdb_scan([(10, [1.0, 3.0]), (1, [4.0, 6.0]), (10, [3.0, 5.0])])
    assert metrics["num_rrdb"] == [1, 10] and metrics["num_runs"] == [1, 2]
    np.testing.assert_array_equal(metrics["wasserstein_gev"], [[4.0, 6.0], [2.0, 4.0]])
    np.testing.assert_array_equal(metrics["wasserstein_std_gev"], [[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(metrics["mean_over_constituents_gev"], [5.0, 3.0])
    assert _strict_json(metrics)["points"][2] == {"num_rrdb": 10, "wasserstein_gev": [3.0, 5.0]}
    with pytest.raises(InputError, match="same number"):
        evaluation.rrdb_scan([(1, [1.0, 2.0]), (2, [1.0])])
    with pytest.raises(InputError, match="positive integer"):
        evaluation.rrdb_scan([(0, [1.0])])


def test_evaluate_runs_both_pairings_and_the_factor_scan(jets, captured_figures, tmp_path):
    hr, lr = jets
    top = synthetic_jets(20, seed=1)
    test_sets = {"top": {"hr": top, "lr": jet_obs.sum_pool(top, FACTOR)},
                 "qcd": {"hr": hr, "lr": lr,
                         **{f"lr{f}": jet_obs.sum_pool(hr, f) for f in (2, 4, 8)}}}
    metrics = evaluation.evaluate(upsampler(), test_sets, "qcd", FACTOR, PIXEL_SIZE,
                                  str(tmp_path / "plots"), threshold_gev=0.01)
    assert metrics["qcd_on_qcd"]["num_jets"] == 48 and metrics["qcd_on_top"]["num_jets"] == 20
    assert set(metrics["factor_scan"]) == {"qcd"}
    assert 0.0 <= metrics["qcd_on_qcd"]["closer_fraction"]["tau2"] <= 1.0
    assert metrics["qcd_on_top"]["threshold_gev"] == 0.01
    titles = [fig.get_suptitle() for fig in captured_figures]
    assert len(titles) == 11
    assert sum("(trained on QCD, applied to QCD)" in t for t in titles) == 5
    assert sum("(trained on QCD, applied to top)" in t for t in titles) == 5
    assert titles[-1].endswith("(QCD jets)")
    assert "qcd_on_top_relative_differences.png" in metrics["plots"]
    assert "factor_scan_qcd.pdf" in metrics["plots"]
    # Only the top-on-top figure quotes the paper's Fig. 7 numbers.
    assert not any("paper" in ax.get_title() for fig in captured_figures for ax in fig.axes)
    _strict_json(metrics)


def test_evaluate_quotes_the_paper_for_top_on_top(jets, captured_figures, tmp_path):
    hr, lr = jets
    metrics = evaluation.evaluate(upsampler(), {"top": {"hr": hr, "lr": lr}}, "top", FACTOR,
                                  PIXEL_SIZE, str(tmp_path))
    assert list(k for k in metrics if k.endswith(("_on_qcd", "_on_top"))) == ["top_on_top"]
    assert "factor_scan" not in metrics
    relative = captured_figures[-1]
    assert relative.axes[1].get_title().endswith("(paper 54%)")  # τ2


def test_evaluate_rejects_bad_requests(jets, tmp_path):
    hr, lr = jets
    with pytest.raises(InputError, match="trained_on must be one of"):
        evaluation.evaluate(upsampler(), {"qcd": {"hr": hr, "lr": lr}}, "gluon", FACTOR,
                            PIXEL_SIZE, str(tmp_path))
    with pytest.raises(InputError, match="the top test set lacks lr"):
        evaluation.evaluate(upsampler(), {"top": {"hr": hr}}, "qcd", FACTOR, PIXEL_SIZE,
                            str(tmp_path))
    with pytest.raises(InputError, match="test_sets must map some of"):
        evaluation.evaluate(upsampler(), {"w": {"hr": hr, "lr": lr}}, "qcd", FACTOR,
                            PIXEL_SIZE, str(tmp_path))


def test_super_resolve_accepts_a_reloaded_savedmodel(jets, tmp_path):
    """The exported SavedModel, wrapped in a TFSMLayer, returns the same SR images."""
    _, lr = jets
    generator = upsampler()
    path = str(tmp_path / "generator_savedmodel")
    generator.export(path, verbose=False)
    reloaded = keras.layers.TFSMLayer(path, call_endpoint="serve")
    np.testing.assert_array_equal(evaluation.super_resolve(reloaded, lr[:7], batch_size=4),
                                  evaluation.super_resolve(generator, lr[:7]))
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))


def test_super_resolve_runs_the_jet_sr_generator(jets):
    _, lr = jets
    generator = networks.JetSRGenerator(config.GeneratorConfig(
        factor=FACTOR, num_rrdb=1, filters=4, dense_blocks=1, convs_per_dense_block=1))
    sr = evaluation.super_resolve(generator, lr[:3], batch_size=2)
    assert sr.shape == (3, SIZE, SIZE) and sr.min() >= 0.0
    direct = np.asarray(generator(lr[:3, :, :, None], training=False)["sr"])[..., 0]
    np.testing.assert_allclose(sr, np.where(direct > 0, direct, 0.0), rtol=1e-5, atol=1e-6)
