"""The electromagnetic cell model: wandering core, spots of varying energy, soft halo."""

import numpy as np
import pytest

from caloml.sim import calogan, cells, deposit, gflash
from caloml.sim.materials import PB_LAR_CALOGAN

GEOMETRY = calogan.CaloGANGeometry()


def _showers(energy_gev, num, seed=0, start_particles=1):
    energy = np.full(num, float(energy_gev))
    return gflash.simulate_longitudinal(
        energy, np.zeros(num), GEOMETRY.slice_edges_x0(), PB_LAR_CALOGAN,
        np.random.default_rng(seed), start_particles=start_particles)


def _analytic_covariance(showers, group, num_groups):
    """Σ_s Σ_s' w_s w_s' [σ_s σ_s' exp(−|Δt|/ln 2) + V(min(t, t'))], the O(S²) definition."""
    core = showers.slice_energy_gev * showers.core_fraction
    one_hot = (group[:, None] == np.arange(num_groups)).astype(float)
    share = core / (core @ one_hot)[:, group]
    depth = showers.slice_depth_x0
    n = np.maximum(np.minimum(showers.start_particles * np.exp(depth),
                              showers.particles_max[:, None]), 1.0)
    sigma = showers.core_radius_mm / np.sqrt(n)
    walk = (showers.moliere_radius_mm / showers.particles_max)[:, None] ** 2 * n
    cov = (sigma[:, :, None] * sigma[:, None, :]
           * np.exp(-np.abs(depth[:, :, None] - depth[:, None, :]) / np.log(2.0))
           + np.minimum(walk[:, :, None], walk[:, None, :]))
    weighted = share[:, :, None] * one_hot[None]
    return np.einsum("msg,mst,mth->mgh", weighted, cov, weighted)


@pytest.mark.parametrize("start_particles", [1, 2])
def test_core_offsets_have_the_covariance_of_the_slice_processes(start_particles):
    """The O(S) slice-by-slice draw has the covariance of the model's O(S²) definition."""
    showers = _showers(50.0, 1, start_particles=start_particles)
    many = gflash.Showers(**{
        k: (np.repeat(v, 40_000, axis=0) if isinstance(v, np.ndarray) else v)
        for k, v in vars(showers).items()})
    group = GEOMETRY.slice_layer()
    offsets = cells.core_offsets(many, group, 3, np.random.default_rng(1))
    assert offsets.shape == (40_000, 3, 2)
    expected = _analytic_covariance(showers, group, 3)[0]
    for c in range(2):
        sample = np.cov(offsets[:, :, c].T)
        np.testing.assert_allclose(sample, expected, rtol=0.05, atol=0.02 * expected.max())
    # x and y are independent.
    assert abs(np.corrcoef(offsets[:, 0, 0], offsets[:, 0, 1])[0, 1]) < 0.02


def test_the_walk_reaches_moliere_over_root_particles_at_the_maximum():
    """Behind the maximum the random walk dominates: R_M·sqrt(E_c/E) per coordinate (plus a
    little of the slices' own sampling term, which averages out over a layer)."""
    energy = 50.0
    showers = _showers(energy, 1)
    walk = PB_LAR_CALOGAN.moliere_radius_mm * np.sqrt(
        PB_LAR_CALOGAN.critical_energy_mev / (1000 * energy))
    layer2 = np.sqrt(_analytic_covariance(showers, GEOMETRY.slice_layer(), 3)[0, 2, 2])
    assert walk < layer2 < 1.05 * walk
    assert 0.4 < walk < 0.6  # half a millimetre at 50 GeV in the CaloGAN stack


def test_components_add_up_to_the_expected_images_without_wandering():
    showers = _showers(20.0, 16)
    x = np.zeros(16)
    group = GEOMETRY.slice_layer()
    core, halo = cells.electromagnetic_components(
        showers, x, x, GEOMETRY.grids, group, np.random.default_rng(2), wander=False)
    expected = deposit.expected_images(showers, x, x, GEOMETRY.grids, group)
    np.testing.assert_allclose(core.layer_energy_gev + halo.layer_energy_gev,
                               deposit.group_energy(showers, group, 3), rtol=1e-12)
    for i in range(3):
        np.testing.assert_allclose(core.images_gev[i] + halo.images_gev[i], expected[i],
                                   rtol=1e-4, atol=1e-9)
    assert core.shape == cells.CORE_SPOT_SHAPE and halo.shape == cells.HALO_SHAPE
    np.testing.assert_allclose(halo.quantum_gev, cells.HALO_DEPOSIT_GEV)
    # Core spots keep GFlash's per-cell variance e(1 + 1/k) = e_GFlash.
    spot = deposit.group_spot_energy(showers, group, 3)
    np.testing.assert_allclose(core.quantum_gev * (1 + 1 / core.shape), spot, rtol=1e-12)
    # The halo is wider than the core.
    assert (halo.images_gev[1][:, 5:7, 5:7].sum((1, 2)) / halo.images_gev[1].sum((1, 2))).mean() \
        < (core.images_gev[1][:, 5:7, 5:7].sum((1, 2)) / core.images_gev[1].sum((1, 2))).mean()


def test_wandering_breaks_the_symmetry_of_cells_sharing_the_core():
    """On the layer-0 cell edge, E_ratio of the two hottest cells is no longer ~0."""
    showers = _showers(50.0, 2000)
    x = np.zeros(2000)
    group = GEOMETRY.slice_layer()
    ratios = {}
    for wander in (False, True):
        core, halo = cells.electromagnetic_components(
            showers, x, x, GEOMETRY.grids, group, np.random.default_rng(3), wander=wander)
        image = (core.images_gev[0] + halo.images_gev[0]).reshape(2000, -1)
        top = np.sort(image, axis=1)[:, -2:]
        ratios[wander] = ((top[:, 1] - top[:, 0]) / top.sum(1)).mean()
    assert ratios[False] < 1e-4
    assert 0.02 < ratios[True] < 0.2
