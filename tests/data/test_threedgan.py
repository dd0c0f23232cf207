"""Tests of caloml.data.threedgan: measured angle, CLIC -> 3DGAN arrays, files and script."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import gan3d_data
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


# --- Gan3DFiles, check_file -------------------------------------------------------------------


GEN_FILE_KEYS = ("ECAL", "energy", "theta", "mtheta", "sum")


def _gan3d_file(path, num=6, first_row=0, **kwargs):
    arrays = gan3d_data.events(num, first_row=first_row, **kwargs)
    gan3d_data.write(path, arrays)
    return arrays


def test_gan3d_files_holds_tuples_and_matches_clic_files(tmp_path):
    files = threedgan.Gan3DFiles([tmp_path / "a.h5", "b.h5"], ["a_clic.h5", "b_clic.h5"])
    assert files.threedgan == (str(tmp_path / "a.h5"), "b.h5")
    assert files.clic == ("a_clic.h5", "b_clic.h5")
    assert threedgan.Gan3DFiles(("a.h5",)).clic is None
    with pytest.raises(errors.InputError, match="1 CLIC files for 2 3DGAN files"):
        threedgan.Gan3DFiles(("a.h5", "b.h5"), ("a_clic.h5",))
    with pytest.raises(errors.InputError, match="at least one"):
        threedgan.Gan3DFiles(())


def test_file_stem():
    assert threedgan.file_stem(1000, (100.0, 200.0), (1.047, 2.094), False, 1) == (
        "electron_1000ev_100-200GeV_1p047-2p094rad_seed1")
    assert threedgan.file_stem(50, (100.0, 200.5), (1.047, 2.094), True, 7) == (
        "electron_50ev_100-200p5GeV_90deg_seed7")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_check_file_accepts_3dgan_files(tmp_path, dtype):
    path = tmp_path / "processed.h5"
    arrays = gan3d_data.events(5)
    arrays["mtheta"][2] = threedgan.UNDEFINED_THETA  # an empty event's marker is no degree
    arrays["energy"] = arrays["energy"][:, None]  # a column, as GetProcessedData may write it
    gan3d_data.write_plain(path, arrays, dtype=dtype)
    assert threedgan.check_file(path) == 5


def _check_message(tmp_path, arrays, name="bad.h5"):
    path = tmp_path / name
    gan3d_data.write_plain(path, arrays)
    with pytest.raises(errors.DataError) as info:
        threedgan.check_file(path)
    message = str(info.value)
    assert "\n" not in message and repr(str(path)) in message
    return message


@pytest.mark.parametrize("key", ["ECAL", "energy", "sum"])
def test_check_file_names_a_missing_array(tmp_path, key):
    arrays = gan3d_data.events(3)
    del arrays[key]
    message = _check_message(tmp_path, arrays)
    assert f"has no {key!r}; a 3DGAN file holds ECAL [N, 51, 51, 25], energy [N] (GeV)" in message


def test_check_file_on_a_clic_file_prints_a_remedy_that_works(tmp_path):
    clic = tmp_path / "EleEscan_1_1.h5"
    write_triforce_like(clic, clic_arrays(n=4, seed=5))
    with pytest.raises(errors.DataError) as info:
        threedgan.check_file(clic)
    message = str(info.value)
    out = tmp_path / "EleEscan_1_1_3dgan.h5"
    assert message == (
        f"{str(clic)!r} has no 'mtheta': not a 3DGAN file; make one from this CLIC file with "
        f"python train/prepare_3dgan_data.py --input={clic} --output={out}")
    command = message.split("with python ")[1].split()
    result = subprocess.run([sys.executable, *command], capture_output=True, text=True,
                            timeout=120, cwd=SCRIPT.parents[1])
    assert result.returncode == 0, result.stderr
    assert threedgan.check_file(out) == 4


def test_check_file_without_theta_is_not_a_3dgan_file(tmp_path):
    arrays = gan3d_data.events(3)
    del arrays["theta"]
    message = _check_message(tmp_path, arrays)
    assert "has no 'theta': not a 3DGAN file; make one from a CLIC file (ECAL, energy, theta, " \
           "eta) with python train/prepare_3dgan_data.py --input=<CLIC file>" in message


@pytest.mark.parametrize("key", ["theta", "mtheta"])
def test_check_file_detects_degrees(tmp_path, key):
    arrays = gan3d_data.events(4)
    arrays[key] = np.degrees(arrays[key])
    arrays["mtheta"][1] = threedgan.UNDEFINED_THETA
    low, high = arrays[key][arrays[key] != 100].min(), arrays[key][arrays[key] != 100].max()
    message = _check_message(tmp_path, arrays)
    assert message.endswith(
        f"{key!r} holds angles from {low:.4g} to {high:.4g}, which look like degrees where "
        "radians are expected; convert the file's theta and mtheta with numpy.radians")


def test_check_file_at_fixed_angle_in_degrees(tmp_path):
    arrays = gan3d_data.events(3)
    arrays["theta"][:] = 90.0
    assert "look like degrees" in _check_message(tmp_path, arrays)


@pytest.mark.parametrize("value, expected", [
    (300.0, "'theta' holds angles from 1.1 to 300; expected polar angles in [0, pi] rad"),
    (-0.5, "'theta' holds angles from -0.5 to 1.1; expected polar angles in [0, pi] rad"),
    (np.nan, "'theta' holds nan (row 0 of the angles); expected finite angles in rad"),
])
def test_check_file_refuses_impossible_angles(tmp_path, value, expected):
    arrays = gan3d_data.events(2)
    arrays["theta"][:] = [value, 1.1]
    assert _check_message(tmp_path, arrays).endswith(expected)


def test_check_file_refuses_other_shapes_dtypes_and_row_counts(tmp_path):
    arrays = gan3d_data.events(2)
    small = {**arrays, "ECAL": arrays["ECAL"][:, 13:38, 13:38, :]}
    assert _check_message(tmp_path, small, "a.h5").endswith(
        "'ECAL' has shape [2, 25, 25, 25], expected [N, 51, 51, 25] (x, y, layer)")
    wide = {**arrays, "energy": np.stack([arrays["energy"]] * 2, axis=1)}
    assert _check_message(tmp_path, wide, "b.h5").endswith(
        "'energy' has shape [2, 2], expected [N]")
    integer = {**arrays, "sum": arrays["sum"].astype(np.int32)}
    assert _check_message(tmp_path, integer, "c.h5").endswith(
        "'sum' has dtype int32, expected float32 or float64")
    short = {**arrays, "mtheta": arrays["mtheta"][:1]}
    assert _check_message(tmp_path, short, "d.h5").endswith(
        "'mtheta' has 1 rows, but 'ECAL' has 2")
    with pytest.raises(errors.MissingFileError, match="absent.h5"):
        threedgan.check_file(tmp_path / "absent.h5")


# --- dataset_files with --data ----------------------------------------------------------------


def test_dataset_files_takes_a_file_or_the_sorted_files_of_a_directory(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _gan3d_file(data / "b.hdf5", 3)
    _gan3d_file(data / "a.h5", 4)
    (data / "notes.txt").write_text("not a data file")
    cache_dir = tmp_path / "cache"
    files = threedgan.dataset_files(cache_dir, num_events=7, seed=1, data=data)
    assert files == threedgan.Gan3DFiles((str(data / "a.h5"), str(data / "b.hdf5")), None)
    single = threedgan.dataset_files(cache_dir, num_events=4, seed=1, data=data / "a.h5")
    assert single.threedgan == (str(data / "a.h5"),) and single.clic is None
    assert not cache_dir.exists()  # nothing written with --data


def test_dataset_files_with_too_few_events_names_files_count_and_flags(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _gan3d_file(data / "a.h5", 4)
    _gan3d_file(data / "b.h5", 3)
    with pytest.raises(errors.InputError) as info:
        threedgan.dataset_files(tmp_path / "cache", num_events=8, seed=1, data=data)
    assert str(info.value) == (
        f"--data={data}: {str(data / 'a.h5')!r}, {str(data / 'b.h5')!r} hold 7 events, fewer "
        "than the 8 that --num_train and --num_test ask for")


def test_dataset_files_checks_every_user_file_before_writing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _gan3d_file(data / "a.h5", 4)
    arrays = gan3d_data.events(4)
    arrays["theta"] = np.degrees(arrays["theta"])
    gan3d_data.write_plain(data / "b.h5", arrays)
    with pytest.raises(errors.DataError, match=r"b\.h5'.*look like degrees"):
        threedgan.dataset_files(tmp_path / "cache", num_events=2, seed=1, data=data)
    assert not (tmp_path / "cache").exists()
    with pytest.raises(errors.MissingFileError, match="does not exist"):
        threedgan.dataset_files(tmp_path, num_events=2, seed=1, data=tmp_path / "absent")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(errors.MissingFileError, match="holds no .h5 or .hdf5 file"):
        threedgan.dataset_files(tmp_path, num_events=2, seed=1, data=empty)


# --- dataset_files simulating -----------------------------------------------------------------


def test_dataset_files_simulates_converts_and_reuses(tmp_path):
    settings = dict(num_events=12, energy_gev=(100.0, 200.0), theta_rad=(1.2, 1.9), seed=3,
                    workers=1)
    files = threedgan.dataset_files(tmp_path, **settings)
    stem = "electron_12ev_100-200GeV_1p2-1p9rad_seed3"
    assert files == threedgan.Gan3DFiles((str(tmp_path / f"{stem}_3dgan.h5"),),
                                         (str(tmp_path / f"{stem}_clic.h5"),))
    clic_attrs = hdf5.read_attrs(files.clic[0])
    assert clic_attrs["seed"] == threedgan.data_seed(3) and clic_attrs["readout"] == "files"
    assert tuple(clic_attrs["theta_rad"]) == (1.2, 1.9)
    clic = hdf5.read_arrays(files.clic[0], schema.CLIC)
    assert np.all((clic["energy"] >= 100) & (clic["energy"] <= 200))
    assert np.all((clic["theta"] >= 1.2) & (clic["theta"] <= 1.9))
    assert threedgan.check_file(files.threedgan[0]) == 12
    back = threedgan.read_3dgan(files.threedgan[0])
    np.testing.assert_array_equal(back["ECAL"], clic["ECAL"])
    assert hdf5.read_attrs(files.threedgan[0])["source_file"] == files.clic[0]

    # Same settings: both files reused as they are.
    stamps = {path: os.stat(path).st_mtime_ns for path in (*files.threedgan, *files.clic)}
    assert threedgan.dataset_files(tmp_path, **settings) == files
    assert {path: os.stat(path).st_mtime_ns for path in stamps} == stamps
    # A lost conversion is made again from the cached simulation, which is kept.
    os.remove(files.threedgan[0])
    threedgan.dataset_files(tmp_path, **settings)
    assert os.stat(files.clic[0]).st_mtime_ns == stamps[files.clic[0]]
    np.testing.assert_array_equal(threedgan.read_3dgan(files.threedgan[0])["sum"], back["sum"])

    # Other settings: other files beside them; the fixed angle is 90 degrees.
    fixed = threedgan.dataset_files(tmp_path, **{**settings, "num_events": 8},
                                    fixed_angle=True)
    assert os.path.basename(fixed.threedgan[0]) == (
        "electron_8ev_100-200GeV_90deg_seed3_3dgan.h5")
    np.testing.assert_allclose(threedgan.read_3dgan(fixed.threedgan[0])["theta"], np.pi / 2)
    assert sorted(os.listdir(tmp_path)) == sorted(
        [f"{stem}_clic.h5", f"{stem}_3dgan.h5", "electron_8ev_100-200GeV_90deg_seed3_clic.h5",
         "electron_8ev_100-200GeV_90deg_seed3_3dgan.h5"])

    # The test events carry the CLIC files' HCAL and reconstructed angles of the same rows.
    events = threedgan.read_events(files, 5, 12)
    for key in ("energy", "theta", "mtheta"):
        np.testing.assert_array_equal(events[key], back[key][5:12])
    np.testing.assert_array_equal(events["HCAL"], clic["HCAL"][5:12])
    np.testing.assert_array_equal(events["recoEta"], clic["recoEta"][5:12])
    np.testing.assert_array_equal(events["recoPhi"], clic["recoPhi"][5:12])


# --- read_events ------------------------------------------------------------------------------


def _two_files(tmp_path, sizes=(5, 4), **kwargs):
    paths, arrays = [], []
    first = 0
    for index, size in enumerate(sizes):
        path = tmp_path / f"part{index}.h5"
        arrays.append(_gan3d_file(path, size, first_row=first, seed=index, **kwargs))
        paths.append(str(path))
        first += size
    merged = {key: np.concatenate([a[key] for a in arrays]) for key in arrays[0]}
    return threedgan.Gan3DFiles(tuple(paths)), merged


def test_read_events_spans_files(tmp_path):
    files, merged = _two_files(tmp_path)
    events = threedgan.read_events(files, 3, 8)
    assert sorted(events) == sorted(GEN_FILE_KEYS)
    np.testing.assert_array_equal(events["energy"], 100.0 + np.arange(3, 8))
    np.testing.assert_array_equal(events["ECAL"], merged["ECAL"][3:8])
    assert events["ECAL"].dtype == np.float32
    for key in ("theta", "mtheta", "sum"):
        np.testing.assert_array_equal(events[key], merged[key][3:8])
    assert threedgan.read_events(files, 4, 4)["ECAL"].shape == (0, 51, 51, 25)


def test_read_events_crops_the_fixed_angle_window(tmp_path):
    files, merged = _two_files(tmp_path)
    events = threedgan.read_events(files, 0, 9, window=(25, 25, 25))
    assert events["ECAL"].shape == (9, 25, 25, 25)
    # The centre cell (25, 25) of the 51 x 51 window is the centre (12, 12) of the crop, and
    # the cell at x = 2 lies outside: the crop's sum is the inside cell, 3/4 of the file's.
    inside = merged["ECAL"][np.arange(9), 25, 25, np.arange(9) % 25]
    np.testing.assert_array_equal(events["ECAL"][np.arange(9), 12, 12, np.arange(9) % 25],
                                  inside)
    np.testing.assert_array_equal(events["sum"], inside)
    np.testing.assert_allclose(events["sum"], 0.75 * merged["sum"], rtol=1e-6)


def test_read_events_crops_a_larger_hcal(tmp_path):
    files, _ = _two_files(tmp_path, sizes=(3,))
    hcal = np.random.default_rng(0).uniform(size=(3, 15, 15, 60)).astype(np.float32)
    gan3d_data.write_plain(tmp_path / "clic.h5", {
        "HCAL": hcal, "recoEta": np.arange(3, dtype=np.float32),
        "recoPhi": -np.arange(3, dtype=np.float64)})
    events = threedgan.read_events(
        threedgan.Gan3DFiles(files.threedgan, (str(tmp_path / "clic.h5"),)), 1, 3)
    np.testing.assert_array_equal(events["HCAL"], hcal[1:3, 2:13, 2:13])
    np.testing.assert_array_equal(events["recoEta"], [1.0, 2.0])
    np.testing.assert_array_equal(events["recoPhi"], [-1.0, -2.0])
    assert events["recoPhi"].dtype == np.float32


def test_read_events_refuses_bad_requests(tmp_path):
    files, _ = _two_files(tmp_path)
    with pytest.raises(errors.DataError, match=r"hold 9 events; rows \[5, 10\) were asked for"):
        threedgan.read_events(files, 5, 10)
    with pytest.raises(errors.InputError, match=r"window \(24, 24, 25\) is not a central crop"):
        threedgan.read_events(files, 0, 2, window=(24, 24, 25))
    with pytest.raises(errors.InputError, match=r"rows \[3, 2\)"):
        threedgan.read_events(files, 3, 2)
    gan3d_data.write_plain(tmp_path / "clic.h5", {"HCAL": np.zeros((4, 11, 11, 60), np.float32)})
    with pytest.raises(errors.DataError, match="holds 4 events, its 3DGAN file"):
        threedgan.read_events(threedgan.Gan3DFiles(files.threedgan[:1],
                                                   (str(tmp_path / "clic.h5"),)), 0, 2)
    arrays = gan3d_data.events(3)
    arrays["ECAL"][2, 0, 0, 0] = -1.0
    gan3d_data.write_plain(tmp_path / "negative.h5", arrays)
    with pytest.raises(errors.DataError, match="'ECAL' row 2 holds -1.0"):
        threedgan.read_events(threedgan.Gan3DFiles((str(tmp_path / "negative.h5"),)), 0, 3)


# --- steps_per_epoch and training_dataset -----------------------------------------------------

POWER = 0.85
# The cut of the original: ECAL sum <= 10 dropped. 10.0 itself is dropped, 10.5 kept.
LOW_SUMS = {2: 10.0, 7: 3.0, 11: 0.0, 19: 10.5}


def _training_files(tmp_path, sizes=(13, 11)):
    """24 events over two files (the first compressed); rows 2, 7 and 11 below the cut (21
    kept), row 19 just above."""
    sums = np.random.default_rng(1).uniform(20.0, 200.0, sum(sizes))
    for row, value in LOW_SUMS.items():
        sums[row] = value
    paths, first = [], 0
    for index, size in enumerate(sizes):
        path = tmp_path / f"train{index}.h5"
        gan3d_data.write(path, gan3d_data.events(size, first_row=first, seed=index,
                                                 sums=sums[first:first + size]),
                         compression=None if index else "gzip")
        paths.append(str(path))
        first += size
    return threedgan.Gan3DFiles(tuple(paths)), sums


def _dataset(files, **overrides):
    settings = dict(window=(51, 51, 25), batch_size=4, power=POWER, min_ecal_sum=10.0,
                    shuffle_buffer=5, seed=7, first_epoch=0, noise_dim=3, generator_steps=2,
                    label_flip=0.05, block_size=4)
    settings.update(overrides)
    start, stop = settings.pop("rows", (0, 24))
    return threedgan.training_dataset(files, start, stop, **settings)


def _take(dataset, num):
    return [{key: value.numpy() for key, value in batch.items()} for batch in dataset.take(num)]


def test_steps_per_epoch_counts_events_above_the_cut(tmp_path):
    files, _ = _training_files(tmp_path)
    assert threedgan.steps_per_epoch(files, 0, 24, 4, 10.0) == 21 // 4
    assert threedgan.steps_per_epoch(files, 0, 24, 1, 10.0) == 21
    assert threedgan.steps_per_epoch(files, 0, 24, 1, 0.0) == 23  # row 11 holds 0
    assert threedgan.steps_per_epoch(files, 2, 12, 1, 10.0) == 7  # rows 2, 7 and 11 dropped
    with pytest.raises(errors.InputError, match=r"7 of the 10 training events \(rows \[2, 12\)\) "
                                                r"have an ECAL sum above 10, fewer than one "
                                                "batch of 8; lower --batch_size"):
        threedgan.steps_per_epoch(files, 2, 12, 8, 10.0)


def test_an_epoch_holds_every_event_above_the_cut_once(tmp_path):
    files, sums = _training_files(tmp_path)
    batches = _take(_dataset(files, batch_size=3), 7)  # 21 events kept: 7 batches of 3
    energies = np.concatenate([b["energy"][:, 0] for b in batches])
    kept = [row for row in range(24) if sums[row] > 10.0]
    assert len(kept) == 21 and 19 in kept and 2 not in kept
    assert sorted(energies - 100) == kept
    assert list(energies - 100) != kept  # shuffled
    batch = batches[0]
    assert {key: value.shape for key, value in batch.items()} == {
        "ecal_power": (3, 51, 51, 25, 1), "energy": (3, 1), "angle": (3, 1),
        "ecal_sum": (3, 1), "noise": (3, 3, 3), "real_label": (3,), "fake_label": (3,)}
    assert all(value.dtype == np.float32 for value in batch.values())
    written = [gan3d_data.events(13, seed=0, sums=sums[:13]),
               gan3d_data.events(11, first_row=13, seed=1, sums=sums[13:])]
    for b in batches:
        for i, row in enumerate((b["energy"][:, 0] - 100).astype(int)):
            arrays, local = (written[0], row) if row < 13 else (written[1], row - 13)
            np.testing.assert_allclose(b["ecal_power"][i, ..., 0], arrays["ECAL"][local] ** POWER,
                                       rtol=1e-6)
            np.testing.assert_allclose(b["ecal_sum"][i, 0], sums[row], rtol=1e-6)
            assert b["angle"][i, 0] == arrays["mtheta"][local]


def test_the_fixed_angle_window_is_cropped(tmp_path):
    files, sums = _training_files(tmp_path)
    batch = _take(_dataset(files, window=(25, 25, 25)), 1)[0]
    assert batch["ecal_power"].shape == (4, 25, 25, 25, 1)
    rows = (batch["energy"][:, 0] - 100).astype(int)
    # The crop holds the inside cell only (3/4 of the window's sum), at its centre (12, 12).
    np.testing.assert_allclose(batch["ecal_sum"][:, 0], 0.75 * sums[rows], rtol=1e-6)
    np.testing.assert_allclose(batch["ecal_power"][np.arange(4), 12, 12, rows % 25, 0],
                               (0.75 * sums[rows]) ** POWER, rtol=1e-5)


def test_same_seed_same_batches_other_seed_other_order(tmp_path):
    files, _ = _training_files(tmp_path)
    first = _take(_dataset(files), 12)  # 5 steps per epoch: into the third epoch
    second = _take(_dataset(files), 12)
    for a, b in zip(first, second, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    other = _take(_dataset(files, seed=8), 5)
    order = np.concatenate([b["energy"][:, 0] for b in first[:5]])
    assert not np.array_equal(order, np.concatenate([b["energy"][:, 0] for b in other]))
    assert not np.array_equal(first[0]["noise"], other[0]["noise"])
    # Every epoch has its own order and every step its own draws.
    epoch_1 = np.concatenate([b["energy"][:, 0] for b in first[5:10]])
    assert not np.array_equal(order, epoch_1)
    assert not np.array_equal(first[0]["noise"], first[5]["noise"])
    assert not np.array_equal(first[0]["noise"][:, 1], first[0]["noise"][:, 2])


def test_a_run_resumed_at_epoch_1_sees_the_batches_of_a_run_never_stopped(tmp_path):
    files, _ = _training_files(tmp_path)
    steps = threedgan.steps_per_epoch(files, 0, 24, 4, 10.0)
    assert steps == 5
    whole = _take(_dataset(files, label_flip=0.3), 2 * steps)
    resumed = _take(_dataset(files, label_flip=0.3, first_epoch=1), steps)
    for a, b in zip(whole[steps:], resumed, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_a_shuffle_buffer_larger_than_the_epoch_and_single_row_blocks(tmp_path):
    files, sums = _training_files(tmp_path)
    for buffer, block in ((100, 24), (1, 1)):
        batches = _take(_dataset(files, batch_size=7, shuffle_buffer=buffer, block_size=block), 3)
        energies = np.concatenate([b["energy"][:, 0] for b in batches])
        assert sorted(energies - 100) == [row for row in range(24) if sums[row] > 10.0]


# 20,000 real and as many fake labels: at p = 0.05 the count of flips has a standard
# deviation of sqrt(n p (1 - p)) = 31 around 1000; 5 of them are allowed.
FLIP_LABELS = 20_000


@pytest.mark.parametrize("label_flip", [0.05, 0.3])
def test_labels_flip_at_the_requested_rate(label_flip):
    draws = threedgan.step_draws(3, 11, batch_size=FLIP_LABELS, noise_dim=4, generator_steps=2,
                                 label_flip=label_flip)
    real, fake = draws["real_label"].numpy(), draws["fake_label"].numpy()
    assert set(np.unique(real)) == {0.0, 1.0} and set(np.unique(fake)) == {0.0, 1.0}
    n = FLIP_LABELS
    tolerance = 5 * np.sqrt(n * label_flip * (1 - label_flip))
    assert abs(np.sum(real == 0) - n * label_flip) < tolerance
    assert abs(np.sum(fake == 1) - n * label_flip) < tolerance
    # Drawn independently: both flipped with probability p^2 (sd 0.0016 at p = 0.3).
    assert abs(np.mean((real == 0) & (fake == 1)) - label_flip**2) < 0.01
    noise = draws["noise"].numpy()
    assert noise.shape == (n, 3, 4) and noise.dtype == np.float32
    # 240,000 draws: the standard error of the mean is 0.002.
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 1.0) < 0.01


def test_batches_carry_the_draws_of_their_step(tmp_path):
    files, _ = _training_files(tmp_path)
    batches = _take(_dataset(files, label_flip=0.5, first_epoch=2), 3)
    for index, batch in enumerate(batches):
        draws = threedgan.step_draws(7, 10 + index, batch_size=4, noise_dim=3,
                                     generator_steps=2, label_flip=0.5)
        for key, value in draws.items():
            np.testing.assert_array_equal(batch[key], value.numpy(), err_msg=key)


def test_no_flip_gives_exact_labels(tmp_path):
    files, _ = _training_files(tmp_path)
    batch = _take(_dataset(files, label_flip=0.0), 1)[0]
    np.testing.assert_array_equal(batch["real_label"], np.ones(4))
    np.testing.assert_array_equal(batch["fake_label"], np.zeros(4))


def test_training_dataset_refuses_bad_settings(tmp_path):
    files, _ = _training_files(tmp_path)
    with pytest.raises(errors.InputError, match="fewer than one batch of 22"):
        _dataset(files, batch_size=22)
    with pytest.raises(errors.InputError, match="shuffle_buffer must be an integer of at least 1"):
        _dataset(files, shuffle_buffer=0)
    with pytest.raises(errors.InputError, match="power must be in"):
        _dataset(files, power=1.5)
    with pytest.raises(errors.InputError, match="label_flip must be a probability"):
        _dataset(files, label_flip=-0.1)
    with pytest.raises(errors.InputError, match="not a central crop"):
        _dataset(files, window=(51, 51, 24))
    with pytest.raises(errors.DataError, match=r"hold 24 events; rows \[0, 30\)"):
        _dataset(files, rows=(0, 30))


def test_a_bad_cell_met_while_streaming_names_file_and_row(tmp_path):
    import tensorflow as tf

    arrays = gan3d_data.events(8)
    arrays["ECAL"][5, 1, 1, 1] = -2.0
    gan3d_data.write(tmp_path / "negative.h5", arrays)
    files = threedgan.Gan3DFiles((str(tmp_path / "negative.h5"),))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"DataError: '.*negative\.h5': 'ECAL' row 5 holds -2\.0"):
        _take(_dataset(files, rows=(0, 8)), 4)
