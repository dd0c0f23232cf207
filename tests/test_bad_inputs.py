"""Bad input, entry script by entry script: exit code 2, one line naming the culprit, nothing
written.

The table holds every bad input a user reported (issue 9) and the README's promise for data
files (keys, per-example shapes, dtypes, finite non-negative energies). Cases that import
TensorFlow before they can fail (about 10 s each) are marked slow.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from caloml import sim

ROOT = pathlib.Path(__file__).resolve().parents[1]
SLOW = pytest.mark.slow

# Tiny SR-GAN splits (350 photons, 370 π⁰ in all).
SR_GAN = ["--energy=20", "--num_train=160", "--num_classifier_train=100", "--num_val=50",
          "--num_test_photon=40", "--num_test_pi0=60", "--classifier_sizes=100",
          "--batch_size=8", "--critic_steps=2", "--workers=1", "--epochs=1"]


def _set(key, index, value):
    def change(h5):
        data = h5[key][...]
        data[index] = value
        h5[key][...] = data
    return change


def _replace(key, array_of):
    def change(h5):
        new = array_of(h5[key][...])
        del h5[key]
        h5[key] = new
    return change


def _delete(key):
    def change(h5):
        del h5[key]
    return change


# name → change of photon.h5 (None: the file is not HDF5 at all).
DATA_DEFECTS = {
    "nan_energy": _set("energy", 3, np.nan),
    "negative_hr": _set("hr", (2, 40, 40), -1.0),
    "inf_lr": _set("lr", (5, 10, 10), np.inf),
    "missing_lr": _delete("lr"),
    "hr_shape": _replace("hr", lambda hr: hr[:, :48, :48]),
    "pdg_dtype": _replace("pdg", lambda pdg: pdg.astype(np.float32)),
    "not_hdf5": None,
}
DATA_MESSAGES = {
    "nan_energy": "photon.h5': key 'energy' example 3 holds nan; expected finite, non-negative",
    "negative_hr": "photon.h5': key 'hr' example 2 holds -1.0; expected finite, non-negative",
    "inf_lr": "photon.h5': key 'lr' example 5 holds inf",
    "missing_lr": "photon.h5': missing key 'lr'",
    "hr_shape": "photon.h5': key 'hr' has shape (64, 48, 48), expected [N, 96, 96]",
    "pdg_dtype": "photon.h5': key 'pdg' has dtype float32, expected int32",
    "not_hdf5": "photon.h5' is not a readable HDF5 file",
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """``name → directory`` of photon.h5 + pi0.h5: ``valid`` (64 events each) and one per
    defect of :data:`DATA_DEFECTS`."""
    root = tmp_path_factory.mktemp("data")
    valid = root / "valid"
    valid.mkdir()
    for seed, particle in enumerate(("photon", "pi0")):
        sim.simulate_to_file(valid / f"{particle}.h5", "srgamma", particle, 64, 20.0, seed=seed)
    directories = {"valid": valid}
    for name, change in DATA_DEFECTS.items():
        directory = root / name
        shutil.copytree(valid, directory)
        if change is None:
            (directory / "photon.h5").write_text("not an HDF5 file")
        else:
            with h5py.File(directory / "photon.h5", "r+") as h5:
                change(h5)
        directories[name] = directory
    return directories


def _cases():
    """``(script, flags, message)`` per case; ``{data_NAME}``, ``{tmp}`` and ``{file}`` in the
    flags are filled in by the test."""
    sr_gan = "train/sr_gan.py"
    sim_cli = "-m caloml.sim"
    cases = [
        # train/sr_gan.py: flags and settings, all before TensorFlow is imported.
        ("energy_without_lambda", sr_gan, ["--energy=35"], "set --lambda_per for 35 GeV"),
        ("nan_energy_flag", sr_gan, ["--energy=nan"], "--energy=nan must be a finite number"),
        ("nan_learning_rate", sr_gan, ["--learning_rate=nan"],
         "--learning_rate=nan must be a finite number"),
        ("zero_learning_rate", sr_gan, ["--learning_rate=0"], "learning_rate must be > 0"),
        ("inf_lambda_per", sr_gan, ["--lambda_per=inf"], "--lambda_per=inf must be a finite"),
        ("classifier_sizes_text", sr_gan, ["--classifier_sizes=1k"],
         "--classifier_sizes expects integers of at least 2, got 1k"),
        ("classifier_sizes_negative", sr_gan, ["--classifier_sizes=-5"],
         "--classifier_sizes expects integers of at least 2, got -5"),
        ("classifier_sizes_zero", sr_gan, ["--classifier_sizes=0"],
         "--classifier_sizes expects integers of at least 2, got 0"),
        ("batch_larger_than_data", sr_gan, ["--batch_size=100000"],
         "one GAN step needs critic_steps × batch_size = 5 × 100000"),
        ("zero_epochs", sr_gan, ["--epochs=0"], "flag --epochs=0"),
        ("unknown_strategy", sr_gan, ["--strategy=tpu"], "flag --strategy=tpu"),
        ("unknown_flag", sr_gan, ["--num_epochs=3"], "Unknown command line flag 'num_epochs'"),
        ("positional_argument", sr_gan, ["50"], "unexpected arguments: 50"),
        # python -m caloml.sim
        ("nan_gun_sigma", sim_cli, ["--gun_sigma_mm=nan"],
         "--gun_sigma_mm=nan must be a finite number"),
        ("inf_gun_sigma", sim_cli, ["--gun_sigma_mm=inf"],
         "--gun_sigma_mm=inf must be a finite number"),
        ("nan_gun_center", sim_cli, ["--gun_center_mm=nan,0"],
         "--gun_center_mm expects finite numbers, got nan,0"),
        ("nan_opening_angle", sim_cli, ["--max_opening_angle_deg=nan"],
         "--max_opening_angle_deg=nan must be a finite number"),
        ("nan_field", sim_cli, ["--geometry=clic", "--particle=electron",
                                "--magnetic_field_t=nan"],
         "--magnetic_field_t=nan must be a finite number"),
        ("energy_text", sim_cli, ["--energy=abc"], "--energy expects finite numbers, got abc"),
        ("energy_nan", sim_cli, ["--energy=nan"], "--energy expects finite numbers, got nan"),
        ("energy_out_of_range", sim_cli, ["--energy=600"], "--energy=600 must be one value"),
        ("unknown_particle", sim_cli, ["--particle=muon"], "--particle=muon is not simulated"),
        ("option_of_another_geometry", sim_cli, ["--geometry=calogan", "--particle=positron",
                                                  "--gun_sigma_mm=5"],
         "--gun_sigma_mm is not an option of --geometry=calogan"),
        ("zero_showers", sim_cli, ["--num_showers=0"], "flag --num_showers=0"),
        ("output_in_missing_directory", sim_cli, ["--output={tmp}/nowhere/x.h5"],
         "nowhere' does not exist"),
        ("output_is_a_directory", sim_cli, ["--output={tmp}"], "is a directory"),
        # eval/sim_report.py and its --data, with the README's data-file checks
        ("unknown_geometry", "eval/sim_report.py", ["--geometry=atlas"], "flag --geometry=atlas"),
        ("report_data_missing", "eval/sim_report.py", ["--data={tmp}/nowhere"],
         "nowhere' is not a directory; expected one with photon.h5 and pi0.h5"),
        ("report_workdir_is_a_file", "eval/sim_report.py", ["--workdir={file}"],
         "exists and is not a directory"),
        *[(f"report_data_{name}", "eval/sim_report.py", [f"--data={{data_{name}}}"], message)
          for name, message in DATA_MESSAGES.items()],
        # eval/sr_gan.py
        ("evaluation_without_run", "eval/sr_gan.py", ["--workdir={tmp}/nowhere"],
         "config.json' does not exist"),
        # train/prepare_3dgan_data.py
        ("convert_missing_input", "train/prepare_3dgan_data.py",
         ["--input={tmp}/nowhere.h5", "--output={tmp}/out.h5"], "nowhere.h5' does not exist"),
        ("convert_other_layout", "train/prepare_3dgan_data.py",
         ["--input={data_valid}/photon.h5", "--output={tmp}/out.h5"], "missing key"),
        ("benchmark_unknown_model", "eval/benchmark.py", ["--model=gpt"], "flag --model=gpt"),
        # The reconstruction study (paper 003 §5): train/reco.py, baselines, resampler, report.
        ("reco_unknown_task", "train/reco.py", ["--task=gamma"], "flag --task=gamma"),
        ("reco_unknown_model", "train/reco.py", ["--model=resnet"], "flag --model=resnet"),
        ("reco_regression_without_particle", "train/reco.py", ["--task=regression"],
         "--particle is needed by --task=regression"),
        ("reco_particle_without_regression", "train/reco.py", ["--particle=pi0"],
         "--particle is needed by --task=regression and only by it"),
        ("reco_micro_batch", "train/reco.py", ["--batch_size=100", "--micro_batch=30"],
         "batch_size=100 must be a multiple of micro_batch=30"),
        ("bdt_unknown_method", "baselines/bdt.py", ["--method=svm"], "flag --method=svm"),
        ("regression_unknown_particle", "baselines/regression.py", ["--particle=muon"],
         "flag --particle=muon"),
        ("resample_missing_data", "eval/resample.py", ["--data={tmp}/nowhere"],
         "nowhere does not exist"),
        ("resample_data_is_the_workdir", "eval/resample.py",
         ["--data={data_valid}", "--workdir={data_valid}"], "would replace the originals"),
        ("reco_report_missing_runs", "eval/reco.py", ["--runs={tmp}/nowhere"],
         "nowhere' is not a directory"),
        ("reco_report_without_predictions", "eval/reco.py", ["--runs={data_valid}"],
         "no predictions*.npz under"),
    ]
    slow = [
        # train/sr_gan.py with --data and --workdir: checked in the library, after TensorFlow.
        *[(f"sr_gan_data_{name}", sr_gan, [*SR_GAN, f"--data={{data_{name}}}"],
           DATA_MESSAGES[name]) for name in ("nan_energy", "hr_shape")],
        ("sr_gan_data_too_small", sr_gan, [*SR_GAN, "--data={data_valid}"],
         "photon.h5' holds 64 events; the splits need 350 photon events"),
        ("sr_gan_workdir_is_a_file", sr_gan, [*SR_GAN, "--workdir={file}"],
         "exists and is not a directory"),
        # train/reco.py --data: a directory of srgamma files is not the clic layout.
        ("reco_data_other_layout", "train/reco.py", ["--data={data_valid}"],
         "photon.h5': missing key 'ECAL'"),
        ("reco_data_missing_particle", "train/reco.py", ["--data={data_valid}", "--task=e_pi"],
         "no file 'electron.h5' for the electrons"),
    ]
    return [pytest.param(*case[1:], id=case[0]) for case in cases] + [
        pytest.param(*case[1:], id=case[0], marks=SLOW) for case in slow]


def _tree(directory):
    return sorted(str(p.relative_to(directory)) for p in pathlib.Path(directory).rglob("*"))


@pytest.mark.parametrize("script, flags, message", _cases())
def test_bad_input_is_one_line_and_writes_nothing(script, flags, message, data, tmp_path):
    file = tmp_path / "a_file"
    file.write_text("not a directory")
    values = {"tmp": str(tmp_path), "file": str(file),
              **{f"data_{k}": str(v) for k, v in data.items()}}
    flags = [flag.format_map(values) for flag in flags]
    if script.startswith("-m"):
        command = [sys.executable, *script.split(), *flags]
        if not any(flag.startswith("--output") for flag in flags):
            command.append(f"--output={tmp_path}/out.h5")
    else:
        command = [sys.executable, str(ROOT / script), *flags]
        if script != "train/prepare_3dgan_data.py" and not any(
                flag.startswith("--workdir") for flag in flags):
            command.append(f"--workdir={tmp_path}/run")
    before = _tree(tmp_path)
    data_before = {k: _tree(v) for k, v in data.items()}
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CALOML_DEBUG": ""})
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-3000:]
    assert message in lines[0]
    assert _tree(tmp_path) == before
    assert {k: _tree(v) for k, v in data.items()} == data_before
