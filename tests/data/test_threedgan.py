"""Tests of caloml.data.threedgan: measured angle, CLIC -> 3DGAN arrays, files and script."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import h5py
import numpy as np
import pytest

from caloml import errors, sim
from caloml.data import threedgan
from caloml.io import hdf5, schema

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "train" / "prepare_3dgan_data.py"

# Written out by hand (not taken from the module): depths of the 25 CLIC ECAL layers in mm,
# 17 layers 4.4 mm apart, then 8 layers 6.8 mm apart (lcgeo CLIC_o2_v04: W, Si, Cu and air).
DEPTH_MM = np.cumsum([4.4] * 17 + [6.8] * 8)
CELL_MM = 5.1
# The measured angle of the showers below agrees with the truth to float32 rounding of the
# cells: about 1e-10 rad is seen, 1e-6 rad is required.
ANGLE_TOL_RAD = 1e-6


def straight_showers(
    theta_rad: np.ndarray,
    alpha_rad: np.ndarray | float = 0.0,
    sigma_cells: float = 1.5,
    offset_cells: tuple[float, float] = (0.0, 0.0),
    transposed: bool = False,
) -> np.ndarray:
    """Showers ``[N, x, y, layer]`` = ``[N, 51, 51, 25]`` (GeV) along straight lines with polar
    angle ``theta_rad``, the beam along y as in the CLIC layout.

    The axis direction is (beam, across, depth) = (cos t, sin t sin a, sin t cos a): per mm of
    depth the centre moves by cot(t) / cos(a) mm along the beam (y) and tan(a) mm across it
    (x). Each layer holds a Gaussian spot (whose barycentre is its centre to 1e-12 cells)
    scaled by a gamma-like longitudinal profile; the window is centred on the shower
    barycentre plus ``offset_cells`` (x, y). ``transposed`` swaps x and y, i.e. makes the
    shower move along x, the wrong convention.
    """
    theta = np.atleast_1d(np.asarray(theta_rad, np.float64))
    alpha = np.broadcast_to(np.asarray(alpha_rad, np.float64), theta.shape)
    profile = DEPTH_MM**2 * np.exp(-DEPTH_MM / 15.0)
    depth = DEPTH_MM - DEPTH_MM @ profile / profile.sum()  # relative to the barycentre
    centres = np.arange(51) + 0.5
    across = 25.5 + offset_cells[0] + depth * np.tan(alpha)[:, None] / CELL_MM
    beam = 25.5 + offset_cells[1] + depth * (1 / np.tan(theta) / np.cos(alpha))[:, None] / CELL_MM

    def spots(mid):  # [N, layer] centres -> normalised Gaussians [N, layer, cell]
        g = np.exp(-0.5 * ((centres - mid[..., None]) / sigma_cells) ** 2)
        return g / g.sum(axis=-1, keepdims=True)

    ecal = np.einsum("l,nlx,nly->nxyl", profile, spots(across), spots(beam))
    if transposed:
        ecal = ecal.transpose(0, 2, 1, 3)
    return ecal.astype(np.float32)


def clic_arrays(n: int = 7, seed: int = 0) -> dict[str, np.ndarray]:
    """Arrays of the public CLIC layout: inclined electron showers, the last one empty."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(np.radians(60), np.radians(120), size=n)
    energy = rng.uniform(10.0, 500.0, size=n)
    ecal = straight_showers(theta) * (0.02 * energy[:, None, None, None])
    ecal[-1] = 0.0
    hcal = (rng.uniform(size=(n, 11, 11, 60)) < 0.01) * rng.gamma(1.0, 0.05, size=(n, 11, 11, 60))
    phi = rng.uniform(-np.pi, np.pi, size=n)
    return {
        "ECAL": ecal.astype(np.float32),
        "HCAL": hcal.astype(np.float32),
        "energy": energy.astype(np.float32),
        "pdgID": np.full(n, 11, dtype=np.int32),
        "theta": theta.astype(np.float32),
        "eta": (-np.log(np.tan(theta / 2))).astype(np.float32),
        "phi": phi.astype(np.float32),
        "recoTheta": (theta + 1e-3).astype(np.float32),
        "recoEta": (-np.log(np.tan((theta + 1e-3) / 2))).astype(np.float32),
        "recoPhi": (phi + 1e-3).astype(np.float32),
        "openingAngle": np.zeros(n, dtype=np.float32),
        "conversion": np.zeros(n, dtype=np.int32),
    }


def write_triforce_like(path, arrays: dict[str, np.ndarray]) -> None:
    """Writes ``arrays`` as Triforce_CaloML's Convert_to_h5.py does, with plain h5py.

    float32 ECAL/HCAL (gzip, one event per chunk), int64 pdgID, float64 scalars, extra
    feature datasets and no caloml attributes or optional keys.
    """
    with h5py.File(path, "w") as h5:
        for key, value in arrays.items():
            if value.ndim > 1:
                h5.create_dataset(key, data=value, compression="gzip",
                                  chunks=(1, *value.shape[1:]))
            elif key in ("pdgID", "conversion"):
                h5.create_dataset(key, data=value.astype(np.int64))
            else:
                h5.create_dataset(key, data=value.astype(np.float64))
        h5.create_dataset("ECAL_nHits", data=np.zeros(len(arrays["energy"]), dtype=np.int64))


# --- measured_theta -----------------------------------------------------------------------------


def test_layer_geometry():
    np.testing.assert_allclose(threedgan.LAYER_PITCH_MM, [4.4] * 17 + [6.8] * 8)
    np.testing.assert_allclose(np.diff(threedgan.LAYER_DEPTH_MM), np.diff(DEPTH_MM))
    assert threedgan.CELL_SIZE_MM == CELL_MM


@pytest.mark.parametrize("theta_deg", [45.0, 60.0, 75.0, 90.0, 105.0, 120.0, 135.0])
def test_measured_theta_recovers_straight_showers(theta_deg):
    theta = np.radians(theta_deg)
    ecal = straight_showers(np.array([theta, theta]), offset_cells=(0.0, 0.0))
    ecal[1] = straight_showers(theta, offset_cells=(-3.3, 2.2))[0] * 40.0
    measured = threedgan.measured_theta(ecal)
    assert measured.shape == (2,) and measured.dtype == np.float64
    np.testing.assert_allclose(measured, theta, rtol=0, atol=ANGLE_TOL_RAD)


def test_normal_incidence_is_90_degrees():
    ecal = straight_showers(np.full(3, np.pi / 2), offset_cells=(4.0, -7.0))
    np.testing.assert_allclose(threedgan.measured_theta(ecal), np.pi / 2, rtol=0, atol=1e-9)


def test_beam_coordinate_growing_with_depth_means_theta_below_90_degrees():
    ecal = np.zeros((1, 51, 51, 25), dtype=np.float32)
    for layer in range(25):  # one cell per layer, one cell further along y every layer
        ecal[0, 25, 10 + layer, layer] = 1.0
    depth = DEPTH_MM - DEPTH_MM.mean()
    y = (np.arange(25) - 12) * CELL_MM
    slope = (depth @ y) / (depth @ depth)  # least squares by hand
    measured = threedgan.measured_theta(ecal)[0]
    assert measured < np.pi / 2
    np.testing.assert_allclose(measured, np.arctan2(1.0, slope), rtol=1e-12)


@pytest.mark.parametrize("alpha_deg", [-25.0, 20.0])
def test_transverse_inclination_is_not_mistaken_for_theta(alpha_deg):
    theta = np.radians([65.0, 90.0, 115.0])
    ecal = straight_showers(theta, alpha_rad=np.radians(alpha_deg))
    np.testing.assert_allclose(threedgan.measured_theta(ecal), theta, rtol=0, atol=ANGLE_TOL_RAD)


def test_shower_moving_along_x_is_not_inclined():
    # The beam is y: a shower moving along x (a transposed window) is inclined across the beam
    # only, so it reads as normal incidence. Catches a measurement along the wrong axis.
    theta = np.radians([55.0, 125.0])
    ecal = straight_showers(theta, transposed=True)
    np.testing.assert_allclose(threedgan.measured_theta(ecal), np.pi / 2, rtol=0,
                               atol=ANGLE_TOL_RAD)
    np.testing.assert_allclose(threedgan.measured_theta(ecal.transpose(0, 2, 1, 3)), theta,
                               rtol=0, atol=ANGLE_TOL_RAD)


def test_uniform_layer_pitch_would_bias_the_angle():
    # 3DGAN counts depth in cell units (pitch = 5.1 mm); the real pitch, 4.4 mm where the
    # showers are densest and 6.8 mm behind, pulls the angle towards 90 degrees (by 2.3° at 60°).
    theta = np.radians(60.0)
    ecal = straight_showers(theta)
    uniform = threedgan.measured_theta(ecal, layer_depth_mm=np.arange(25) * CELL_MM)[0]
    assert np.pi / 2 > uniform > theta + np.radians(1.5)


def test_events_without_a_slope_get_the_undefined_value():
    ecal = straight_showers(np.radians([70.0, 70.0, 70.0, 70.0]))
    ecal[1] = 0.0  # empty
    ecal[2, :, :, :] = 0.0
    ecal[2, 20:23, 24:27, 5] = 1.0  # all the energy in one layer
    measured = threedgan.measured_theta(ecal)
    assert threedgan.UNDEFINED_THETA == 100.0  # 3DGAN's value
    np.testing.assert_array_equal(measured[1:3], [100.0, 100.0])
    np.testing.assert_allclose(measured[[0, 3]], np.radians(70.0), atol=ANGLE_TOL_RAD)
    custom = threedgan.measured_theta(ecal, undefined_value=np.nan)
    assert np.isnan(custom[1:3]).all() and np.isfinite(custom[[0, 3]]).all()


def test_measured_theta_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"\[events, x, y, layer\]"):
        threedgan.measured_theta(np.zeros((51, 51, 25)))
    with pytest.raises(ValueError, match="layer_depth_mm"):
        threedgan.measured_theta(np.zeros((1, 51, 51, 24)))


# --- from_clic --------------------------------------------------------------------------------


def test_from_clic():
    arrays = clic_arrays()
    arrays["energy"] = arrays["energy"][:, None]  # a column, as in some public files
    out = threedgan.from_clic(arrays)
    assert sorted(out) == sorted(schema.THREEDGAN.keys())
    for key, value in out.items():
        field = schema.THREEDGAN.field(key)
        assert value.dtype == np.float32 and value.shape == (7, *field.shape), key
    np.testing.assert_array_equal(out["ECAL"], arrays["ECAL"])
    for key in ("energy", "theta", "eta"):
        np.testing.assert_array_equal(out[key], arrays[key].ravel())
    sums = arrays["ECAL"].astype(np.float64).sum(axis=(1, 2, 3))
    np.testing.assert_array_equal(out["sum"], sums.astype(np.float32))
    assert out["sum"][-1] == 0.0 and out["mtheta"][-1] == 100.0
    np.testing.assert_allclose(out["mtheta"][:-1], arrays["theta"][:-1], atol=1e-6)


def test_from_clic_rejects_bad_arrays():
    arrays = clic_arrays(n=2)
    with pytest.raises(KeyError, match="'eta'"):
        threedgan.from_clic({k: v for k, v in arrays.items() if k != "eta"})
    with pytest.raises(ValueError, match=r"ECAL has shape \(2, 51, 51, 24\)"):
        threedgan.from_clic({**arrays, "ECAL": arrays["ECAL"][..., :24]})
    with pytest.raises(ValueError, match="'theta'"):
        threedgan.from_clic({**arrays, "theta": arrays["theta"][:1]})


# --- files ------------------------------------------------------------------------------------


def test_file_round_trip(tmp_path):
    clic = tmp_path / "clic.h5"
    out = tmp_path / "3dgan.h5"
    arrays = clic_arrays(n=7, seed=1)
    arrays["leakage_gev"] = np.zeros(7, dtype=np.float32)
    hdf5.write_arrays(clic, schema.CLIC, arrays, attrs={"particle": "electron", "seed": 3})

    assert threedgan.convert_file(clic, out, chunk_size=3) == 7
    back = threedgan.read_3dgan(out)
    assert sorted(back) == sorted(schema.THREEDGAN.keys())
    for key in ("ECAL", "energy", "theta", "eta"):
        assert back[key].tobytes() == arrays[key].tobytes(), key
    sums = arrays["ECAL"].astype(np.float64).sum(axis=(1, 2, 3)).astype(np.float32)
    np.testing.assert_array_equal(back["sum"], sums)
    np.testing.assert_array_equal(
        back["mtheta"], threedgan.measured_theta(arrays["ECAL"]).astype(np.float32)
    )
    np.testing.assert_array_equal(threedgan.read_3dgan(out, start=2, stop=4)["sum"], sums[2:4])

    attrs = hdf5.read_attrs(out)
    assert attrs["layout"] == "3dgan"
    assert attrs["particle"] == "electron" and attrs["seed"] == 3
    assert attrs["source_file"] == str(clic.resolve())
    assert sorted(os.listdir(tmp_path)) == ["3dgan.h5", "clic.h5"]


def test_triforce_like_file_is_accepted(tmp_path):
    clic = tmp_path / "EleEscan_1_1.h5"
    out = tmp_path / "Ele_3dgan.h5"
    arrays = clic_arrays(n=5, seed=2)
    write_triforce_like(clic, arrays)

    assert threedgan.convert_file(clic, out) == 5
    back = threedgan.read_3dgan(out)
    np.testing.assert_array_equal(back["ECAL"], arrays["ECAL"])
    np.testing.assert_array_equal(back["energy"], arrays["energy"])
    np.testing.assert_allclose(back["mtheta"][:-1], arrays["theta"][:-1], atol=1e-6)
    assert back["mtheta"][-1] == 100.0 and back["sum"][-1] == 0.0
    assert "conversion" not in h5py.File(out, "r")


# Mean mtheta of 40 simulated 100 GeV electrons minus the fixed truth angle, with seed 1: seen
# -0.0009 rad (1.1), -0.0000 (1.5708) and -0.0025 (2.0); over seeds 1-10 the mean deviation
# is below 0.001 rad with a spread of 0.002 rad (the per-event spread is about 0.01 rad). The
# tolerance is 3x the largest deviation seen with seed 1.
SIM_MTHETA_TOL_RAD = 0.0075


@pytest.mark.parametrize("theta_rad", [1.1, 1.5708, 2.0])
def test_simulator_file_round_trip(tmp_path, theta_rad):
    data = sim.simulate("clic", "electron", 40, energy_gev=100.0, seed=1, theta_rad=theta_rad)
    clic = tmp_path / "clic.h5"
    out = tmp_path / "3dgan.h5"
    hdf5.write_arrays(clic, schema.CLIC, data, attrs=data.attrs)

    assert threedgan.convert_file(clic, out, chunk_size=16) == 40
    back = threedgan.read_3dgan(out)
    for key in ("ECAL", "energy", "theta", "eta"):
        assert back[key].dtype == data[key].dtype == np.float32, key
        assert back[key].tobytes() == data[key].tobytes(), key
    sums = data["ECAL"].astype(np.float64).sum(axis=(1, 2, 3)).astype(np.float32)
    np.testing.assert_array_equal(back["sum"], sums)
    assert np.all(np.abs(back["mtheta"] - theta_rad) < 0.1)  # every event defined and close
    assert abs(back["mtheta"].mean(dtype=np.float64) - theta_rad) < SIM_MTHETA_TOL_RAD
    assert hdf5.read_attrs(out)["theta_rad"] == theta_rad


def _without_ecal(arrays):
    del arrays["ECAL"]
    return "missing key"


def _wrong_ecal_shape(arrays):
    arrays["ECAL"] = arrays["ECAL"][:, :, :, :24]
    return "expected [N, 51, 51, 25]"


@pytest.mark.parametrize("corrupt", [_without_ecal, _wrong_ecal_shape])
def test_bad_input_file_names_file_and_key(tmp_path, corrupt):
    clic = tmp_path / "bad.h5"
    arrays = clic_arrays(n=2)
    expected = corrupt(arrays)
    write_triforce_like(clic, arrays)
    with pytest.raises(errors.DataError) as info:
        threedgan.convert_file(clic, tmp_path / "out.h5")
    message = str(info.value)
    assert str(clic) in message and "'ECAL'" in message and expected in message
    assert os.listdir(tmp_path) == ["bad.h5"]


def test_missing_input_and_output_over_input(tmp_path):
    with pytest.raises(errors.MissingFileError, match="absent.h5"):
        threedgan.convert_file(tmp_path / "absent.h5", tmp_path / "out.h5")
    clic = tmp_path / "clic.h5"
    hdf5.write_arrays(clic, schema.CLIC, clic_arrays(n=2))
    with pytest.raises(errors.InputError, match="is the input file"):
        threedgan.convert_file(clic, clic)
    assert hdf5.validate_file(clic, schema.CLIC) == 2


def test_read_3dgan_rejects_a_clic_file(tmp_path):
    clic = tmp_path / "clic.h5"
    hdf5.write_arrays(clic, schema.CLIC, clic_arrays(n=2))
    with pytest.raises(errors.DataError, match="missing key 'mtheta'"):
        threedgan.read_3dgan(clic)


# --- script -----------------------------------------------------------------------------------


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120)


def test_script_end_to_end(tmp_path):
    clic = tmp_path / "clic.h5"
    out = tmp_path / "3dgan.h5"
    arrays = clic_arrays(n=4, seed=3)
    hdf5.write_arrays(clic, schema.CLIC, arrays)
    result = _run(f"--input={clic}", f"--output={out}", "--chunk_size=3")
    assert result.returncode == 0, result.stderr
    back = threedgan.read_3dgan(out)
    np.testing.assert_array_equal(back["ECAL"], arrays["ECAL"])
    np.testing.assert_allclose(back["mtheta"][:-1], arrays["theta"][:-1], atol=1e-6)


def test_script_refuses_a_missing_input(tmp_path):
    absent = tmp_path / "absent.h5"
    result = _run(f"--input={absent}", f"--output={tmp_path / 'out.h5'}")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and str(absent) in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []
