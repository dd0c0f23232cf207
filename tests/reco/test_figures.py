"""What the reconstruction figures (paper 003, Figs. 13–15, 17–19, 25–28) show."""

import numpy as np
import pytest

from caloml import errors
from caloml.reco import evaluation, figures

TASK_PDG = {"gamma_pi0": (22, 111), "e_pi": (11, 211)}


def classifier(method, task, separation, seed, n=600, geometry="clic", angle="variable",
               regress_sigma=None):
    rng = np.random.default_rng(seed)
    label = np.arange(n) % 2
    energy = rng.uniform(2.0, 500.0, n)
    pred = (energy * (1 + rng.normal(0, regress_sigma, n)) if regress_sigma is not None
            else np.full(n, np.nan))
    eta = rng.uniform(-0.6, 0.6, n) if angle == "variable" else np.zeros(n)
    arrays = {"pdg": np.asarray(TASK_PDG[task])[label], "label": label,
              "score": rng.normal(separation * label, 1.0), "energy_true_gev": energy,
              "energy_pred_gev": pred, "eta": eta, "conversion": np.zeros(n, int)}
    return evaluation._validated("test", {"method": method, "task": task, "geometry": geometry,
                                          "angle": angle}, arrays)


def regressor(method, pdg, sigma, seed, n=600, geometry="clic"):
    rng = np.random.default_rng(seed)
    energy = rng.uniform(2.0, 500.0, n)
    arrays = {"pdg": np.full(n, pdg), "label": np.full(n, -1), "score": np.full(n, np.nan),
              "energy_true_gev": energy, "energy_pred_gev": energy * rng.normal(1, sigma, n),
              "eta": np.zeros(n), "conversion": np.zeros(n, int)}
    return evaluation._validated("test", {"method": method, "task": "regression",
                                          "geometry": geometry, "angle": "variable"}, arrays)


def legend(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_roc_curves_show_one_curve_per_method_with_its_auc(captured_figures):
    labels = np.array([0, 0, 1, 1, 0, 1])
    rocs = {"cnn": evaluation.roc_with_auc(labels, np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9]),
                                           num_bootstrap=10),
            "xgboost_bdt": evaluation.roc_with_auc(labels, np.array([0.5, 0.4, 0.3, 0.8, 0.2,
                                                                     0.1]), num_bootstrap=10)}
    paths = figures.plot_roc_curves(rocs, "roc", "photon", "pi0", title="test")
    assert paths == ["roc.png", "roc.pdf"]
    roc_ax, rej_ax = captured_figures[0].axes
    labels_drawn = [line.get_label() for line in roc_ax.lines]
    assert labels_drawn[0] == f"CNN (AUC = {rocs['cnn'].auc:.4f} ± {rocs['cnn'].auc_err:.4f})"
    assert labels_drawn[1].startswith("BDT (XGBoost) (AUC = ") and labels_drawn[2] == "random"
    np.testing.assert_array_equal(roc_ax.lines[0].get_xdata(), rocs["cnn"].background_efficiency)
    np.testing.assert_array_equal(roc_ax.lines[0].get_ydata(), rocs["cnn"].signal_efficiency)
    assert roc_ax.get_xlabel().startswith(r"$\pi^0$ efficiency")
    assert roc_ax.get_ylabel().startswith(r"$\gamma$ efficiency")
    assert rej_ax.get_yscale() == "log" and len(rej_ax.lines) == 2
    passing = rocs["cnn"].background_efficiency > 0
    np.testing.assert_allclose(rej_ax.lines[0].get_ydata(),
                               1 / rocs["cnn"].background_efficiency[passing])
    assert rej_ax.get_ylabel() == r"$\pi^0$ rejection (1 / efficiency)"


def test_accuracy_panels_skip_empty_bins_and_a_single_eta(captured_figures):
    labels = np.array([0, 1, 0, 1])
    scores = np.array([-1.0, 1.0, 1.0, 1.0])
    energy = np.array([3.0, 4.0, 300.0, 320.0])
    vs_energy = evaluation.binned_accuracy(labels, scores, energy, [2, 10, 100, 500])
    vs_eta = evaluation.binned_accuracy(labels, scores, np.array([-0.2, -0.1, 0.1, 0.2]),
                                        [-0.3, 0.0, 0.3])
    figures.plot_accuracy({"googlenet": (vs_energy, vs_eta)}, "acc")
    energy_ax, eta_ax = captured_figures[0].axes
    (points,) = energy_ax.lines
    np.testing.assert_allclose(points.get_xdata(), [3.5, 310.0])  # the empty bin is left out
    np.testing.assert_allclose(points.get_ydata(), [1.0, 0.5])
    assert legend(energy_ax) == ["GN"] and energy_ax.get_xscale() == "log"
    assert energy_ax.get_xlabel() == "true energy [GeV]" and energy_ax.get_ylabel() == "accuracy"
    np.testing.assert_allclose(eta_ax.lines[0].get_ydata(), [1.0, 0.5])
    figures.plot_accuracy({"dnn": (vs_energy, None)}, "acc_fixed")
    eta_ax = captured_figures[1].axes[1]
    assert not eta_ax.lines and "not recorded" in eta_ax.texts[0].get_text()


def test_energy_response_rows_per_particle_with_the_eq3_fit(captured_figures):
    rng = np.random.default_rng(0)
    true = np.repeat([3.0, 7.0, 15.0, 30.0, 70.0, 120.0, 170.0, 250.0, 350.0, 450.0], 300)
    sigma = evaluation.resolution_eq3(true, 0.15, 0.01, 0.3)
    response = evaluation.energy_response(true, true * (1 + sigma * rng.standard_normal(
        true.size)))
    fit = evaluation.fit_resolution_eq3(response.mean_energy_gev, response.resolution,
                                        response.resolution_err)
    sparse = evaluation.energy_response(true[:600], true[:600] * 1.01)  # bins 3 GeV and 7 GeV
    no_fit = evaluation.fit_resolution_eq3(sparse.mean_energy_gev, sparse.resolution)
    assert not no_fit.valid
    figures.plot_energy_response({"photon": {"cnn": (response, fit)},
                                  "pi0": {"linear": (sparse, no_fit)}}, "response")
    (bias_ax, res_ax, pi_bias_ax, pi_res_ax) = captured_figures[0].axes
    assert res_ax.get_yscale() == "log" and bias_ax.get_xscale() == "log"
    assert res_ax.get_ylabel() == r"$\gamma$ resolution σ(ΔE)/E [%]"
    assert pi_bias_ax.get_ylabel() == r"$\pi^0$ relative bias [%]"
    points, curve = res_ax.lines
    np.testing.assert_allclose(points.get_ydata(), 100 * response.resolution)
    np.testing.assert_allclose(curve.get_ydata(), 100 * fit(curve.get_xdata()))
    assert legend(res_ax)[0].startswith("CNN: ") and legend(bias_ax) == ["CNN"]
    np.testing.assert_allclose(bias_ax.lines[0].get_ydata(), 100 * response.bias)
    # The π⁰ row: two filled bins drawn, no fit line, a legend naming the method.
    (pi_points,) = pi_res_ax.lines
    np.testing.assert_allclose(pi_points.get_xdata(), [3.0, 7.0])
    assert legend(pi_res_ax) == ["Linear regression"]
    with pytest.raises(errors.InputError, match="at least one particle"):
        figures.plot_energy_response({}, "none")


def test_energy_response_of_too_few_events_says_so(captured_figures):
    true = np.array([3.0, 30.0, 300.0])  # one event per bin: below min_events everywhere
    response = evaluation.energy_response(true, true * 1.02)
    fit = evaluation.fit_resolution_eq3(response.mean_energy_gev, response.resolution)
    figures.plot_energy_response({"electron": {"linear": (response, fit)}}, "sparse")
    bias_ax, res_ax = captured_figures[0].axes
    assert res_ax.get_yscale() == "linear"
    (text,) = res_ax.texts
    assert "too few test events per bin" in text.get_text()


def test_feature_importance_bars_largest_first(captured_figures):
    names = ["ECAL_E", "R9", "HCAL_E", "ECALmomentZ1"]
    figures.plot_feature_importance(names, [0.1, 0.5, 0.05, 0.35], "importance", top=3)
    (ax,) = captured_figures[0].axes
    bars = sorted(ax.patches, key=lambda bar: -bar.get_y())  # top of the chart first
    np.testing.assert_allclose([bar.get_width() for bar in bars], [0.5, 0.35, 0.1])
    ticks = {tick.get_text(): position for tick, position in
             zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
    assert sorted(ticks, key=lambda name: -ticks[name]) == ["R9", "ECALmomentZ1", "ECAL_E"]
    assert ax.get_xlabel() == "Gini importance"
    with pytest.raises(errors.InputError, match="4 feature names but 3 importances"):
        figures.plot_feature_importance(names, [0.1, 0.2, 0.3], "bad")


def test_write_figures_draws_what_each_geometry_has(captured_figures, tmp_path):
    study = [
        classifier("dnn", "gamma_pi0", 1.0, 0, regress_sigma=0.05),
        classifier("googlenet", "gamma_pi0", 2.0, 1),
        classifier("xgboost_bdt", "gamma_pi0", 0.5, 2),
        regressor("linear", 22, 0.1, 3),
        regressor("xgboost", 11, 0.05, 4),
        classifier("cnn", "gamma_pi0", 1.5, 5, geometry="atlas", angle="fixed"),
    ]
    paths = figures.write_figures(study, tmp_path, num_bootstrap=5)
    stems = [p[:-4] for p in paths if p.endswith(".png")]
    assert [stem.rsplit("/", 1)[1] for stem in stems] == [
        "roc_gamma_pi0_atlas_fixed", "accuracy_gamma_pi0_atlas_fixed",
        "roc_gamma_pi0_clic_variable", "accuracy_gamma_pi0_clic_variable",
        "energy_response_clic_variable"]
    assert all(p.startswith(str(tmp_path)) for p in paths)
    atlas_roc, atlas_accuracy, roc, accuracy, response = captured_figures
    # Regression-only methods are not in the ROC figure; the baseline is.
    assert [line.get_label().split(" (AUC")[0] for line in roc.axes[0].lines] == [
        "DNN", "GN", "BDT (XGBoost)", "random"]
    assert atlas_roc._suptitle.get_text() == "γ vs π⁰, ATLAS-like, fixed angle"
    # The best network by AUC (GN) in the accuracy figure; fixed angle: no η panel.
    assert legend(accuracy.axes[0]) == ["GN"]
    assert "not recorded" in atlas_accuracy.axes[1].texts[0].get_text()
    # Rows in the paper's order: electron before photon, pi0 from the DNN's regression.
    ylabels = [ax.get_ylabel() for ax in response.axes[::2]]
    assert ylabels == [r"$e^-$ relative bias [%]", r"$\gamma$ relative bias [%]",
                       r"$\pi^0$ relative bias [%]"]
    assert [label.split(":")[0] for label in legend(response.axes[3])] == [
        "DNN", "Linear regression"]
