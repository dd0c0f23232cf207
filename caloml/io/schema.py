"""HDF5 layouts of the datasets caloml reads and writes.

A :class:`Layout` lists the per-example arrays of one geometry's file: key, per-example
shape, dtype, unit and what values are allowed. The embedded simulator writes exactly these
layouts, and the readers in :mod:`caloml.io.hdf5` validate real files against them, so a
file from the simulator and a file from the original experiment are interchangeable.
"""

from __future__ import annotations

import dataclasses

from caloml.errors import InputError

# What values a field may hold; checked by the readers.
ENERGY = "energy"  # finite and >= 0
FINITE = "finite"  # finite
INTEGER = "integer"  # integer codes (PDG ids)


@dataclasses.dataclass(frozen=True)
class Field:
    """One per-example array of a dataset file.

    Attributes:
        key: HDF5 dataset name.
        shape: per-example shape; the dataset has shape ``[num_examples, *shape]``.
        dtype: numpy dtype name written by caloml; readers accept any dtype of the same kind.
        unit: physical unit, for documentation and file attributes.
        check: one of ``"energy"`` (finite, non-negative), ``"finite"``, ``"integer"``.
        description: what the array holds.
        optional: readers accept files without it (simulator truth information).
    """

    key: str
    shape: tuple[int, ...]
    dtype: str
    unit: str
    check: str
    description: str
    optional: bool = False


@dataclasses.dataclass(frozen=True)
class Layout:
    """The arrays of one geometry's HDF5 file."""

    name: str
    fields: tuple[Field, ...]

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise InputError(f"layout {self.name!r} has no key {key!r}; keys: {self.keys()}")

    def keys(self, include_optional: bool = True) -> list[str]:
        return [f.key for f in self.fields if include_optional or not f.optional]


# SR-GAN for SR-γ toy PbWO4 calorimeter (paper 000, section 2): 96x96 cells of 5.5 mm (HR) and
# their 4x4 sums, 24x24 crystals of 22 mm (LR), depth-integrated.
SRGAMMA = Layout(
    name="srgamma",
    fields=(
        Field("hr", (96, 96), "float32", "GeV", ENERGY, "high-resolution image, 5.5 mm cells"),
        Field("lr", (24, 24), "float32", "GeV", ENERGY, "low-resolution image, 22 mm crystals"),
        Field("energy", (), "float32", "GeV", ENERGY, "incident particle energy"),
        Field("pdg", (), "int32", "", INTEGER, "PDG id of the incident particle (22, 111, ±11)"),
        Field("opening_angle_rad", (), "float32", "rad", ENERGY,
              "opening angle of the pi0 -> gamma gamma decay (0 for single particles)"),
        Field("impact_xy_mm", (2,), "float32", "mm", FINITE,
              "gun position projected on the calorimeter face (x, y)"),
        Field("leakage_gev", (), "float32", "GeV", ENERGY,
              "simulator truth: energy leaking out of the back", optional=True),
        Field("out_of_window_gev", (), "float32", "GeV", FINITE,
              "simulator truth: energy deposited outside the 96x96 window", optional=True),
        Field("shower_max_x0", (), "float32", "X0", FINITE,
              "simulator truth: energy-weighted depth of shower maximum from the face",
              optional=True),
    ),
)

# CaloGAN Pb/LAr calorimeter (paper 004; hep-lbdl/CaloGAN ``generation/convert.py``), exactly
# as the public files eplus/gamma/piplus.hdf5 (REFERENCES.md §1.1): three layers of x × y cells
# in MeV (total deposit, absorber included), the energy as a column [N, 1] in GeV.
CALOGAN = Layout(
    name="calogan",
    fields=(
        Field("layer_0", (3, 96), "float32", "MeV", ENERGY,
              "layer 0 (0-90 mm deep): 3 x 96 cells of 160 x 5 mm (x, y)"),
        Field("layer_1", (12, 12), "float32", "MeV", ENERGY,
              "layer 1 (90-437 mm deep): 12 x 12 cells of 40 x 40 mm (x, y)"),
        Field("layer_2", (12, 6), "float32", "MeV", ENERGY,
              "layer 2 (437-480 mm deep): 12 x 6 cells of 40 x 80 mm (x, y)"),
        Field("energy", (1,), "float32", "GeV", ENERGY,
              "incident particle energy, one column as in the public files"),
        Field("overflow", (3,), "float32", "MeV", ENERGY,
              "energy deposited outside the 480 x 480 mm window, per layer"),
        Field("leakage_gev", (), "float32", "GeV", ENERGY,
              "simulator truth: energy leaking out of the back", optional=True),
    ),
)


# LCD/CLIC barrel calorimeters of "Calorimetry with deep learning" (paper 003 §2), laid out as
# the Triforce_CaloML files (REFERENCES.md §3.1; SamplePrep/Converting/python/Convert_to_txt.py
# and Convert_to_h5.py): windows of 51 x 51 x 25 ECAL cells (5.1 mm, W/Si) and 11 x 11 x 60 HCAL
# cells (30 mm, steel/scintillator) centred on the shower barycentre, arrays [x (along r phi),
# y (along the beam), layer]. The files hold the raw energy of the Si and scintillator cells
# (Geant4 MeV) /1000 x 50 in every layer (Convert_to_h5.py lines 402, 406); the simulator
# writes that by default and the EM-scale calibration as an option. The beam runs along y as in
# the real files (svalleco/3Dgan measPython measures theta from y).
CLIC = Layout(
    name="clic",
    fields=(
        Field("ECAL", (51, 51, 25), "float32", "GeV", ENERGY,
              "ECAL window: 51 x 51 cells of 5.1 mm (x along r phi, y along the beam) x 25 "
              "layers (17 x 2.4 mm W, 8 x 4.8 mm W); raw Si energy x 50 as the Triforce files "
              "(or calibrated to the EM scale)"),
        Field("HCAL", (11, 11, 60), "float32", "GeV", ENERGY,
              "HCAL window behind the ECAL one: 11 x 11 cells of 30 mm x 60 steel/scintillator "
              "layers; raw scintillator energy x 50 (or calibrated to the EM scale)"),
        Field("energy", (), "float32", "GeV", ENERGY, "incident particle energy"),
        Field("pdgID", (), "int32", "", INTEGER,
              "PDG id of the incident particle (11, 22, 111, 211, -211)"),
        Field("theta", (), "float32", "rad", FINITE, "truth polar angle to the beam axis"),
        Field("eta", (), "float32", "", FINITE, "truth pseudorapidity -ln tan(theta/2)"),
        Field("phi", (), "float32", "rad", FINITE, "truth azimuth of the momentum"),
        Field("recoTheta", (), "float32", "rad", FINITE,
              "acos(z/r) of the raw-energy barycentre (x, y, z) of all ECAL + HCAL hit cells, "
              "seen from the origin (Convert_to_h5.py getTheta)"),
        Field("recoEta", (), "float32", "", FINITE, "-ln tan(recoTheta/2)"),
        Field("recoPhi", (), "float32", "rad", FINITE,
              "atan(y/x) of that barycentre, in (-pi/2, pi/2) (Convert_to_h5.py getPhi)"),
        Field("openingAngle", (), "float32", "rad", FINITE,
              "opening angle of the pi0 -> gamma gamma decay; -1 for other particles "
              "(Convert_to_txt.py)"),
        Field("conversion", (), "int32", "", INTEGER,
              "photon conversions before the calorimeter: e+e- pairs from one vertex with "
              "E(e+) + E(e-) > 1 GeV (Convert_to_txt.py)"),
        Field("leakage_gev", (), "float32", "GeV", ENERGY,
              "simulator truth: energy deposited nowhere in the calorimeters (behind the HCAL, "
              "invisible hadronic energy, conversion legs curling up in the tracker)",
              optional=True),
        Field("out_of_window_gev", (), "float32", "GeV", FINITE,
              "simulator truth: expected energy deposited in the calorimeters outside the two "
              "windows", optional=True),
    ),
)

# The processed 3DGAN training files (svalleco/3Dgan ``misc/GetProcessedData.py``, REFERENCES.md
# §2.2): the ECAL window of the CLIC files with the truth and measured angles and the ECAL sum.
THREEDGAN = Layout(
    name="3dgan",
    fields=(
        Field("ECAL", (51, 51, 25), "float32", "GeV", ENERGY,
              "ECAL window of the CLIC file (x along r phi, y along the beam, layer)"),
        Field("energy", (), "float32", "GeV", ENERGY, "incident particle energy"),
        Field("theta", (), "float32", "rad", FINITE, "truth polar angle"),
        Field("mtheta", (), "float32", "rad", FINITE,
              "polar angle measured from the ECAL barycentre"),
        Field("eta", (), "float32", "", FINITE, "truth pseudorapidity"),
        Field("sum", (), "float32", "GeV", ENERGY, "sum of the ECAL window"),
    ),
)

# Paired jet images of "How to GAN Higher Jet Resolution" (paper 001 §2), as written by
# caloml.jets (Pythia 8 + the Delphes-ATLAS-card detector model + FastJet): the HR jet's pixels
# in a 160 x 160 window of 2 pi / 640 pixels centred on its axis, the LR_f jets' pixels in the
# same window pooled by f, and the HR jet's constituents as in the public top-tagging dataset.
JETS = Layout(
    name="jets",
    fields=(
        Field("hr", (160, 160), "float32", "GeV", ENERGY,
              "HR jet image: pT per 2 pi / 640 pixel of the HR jet's constituents in the window "
              "(axis 1 eta, axis 2 phi, increasing)"),
        Field("lr2", (80, 80), "float32", "GeV", ENERGY,
              "LR_2 jet image: pT per 2 x 2-pooled pixel of the jet found on the pooled "
              "constituents, same window"),
        Field("lr4", (40, 40), "float32", "GeV", ENERGY,
              "LR_4 jet image: pT per 4 x 4-pooled pixel, same window"),
        Field("lr8", (20, 20), "float32", "GeV", ENERGY,
              "LR_8 jet image: pT per 8 x 8-pooled pixel, same window"),
        Field("constituents", (200, 4), "float32", "GeV", FINITE,
              "(E, px, py, pz) of the HR jet's detector-level constituents before "
              "pixelisation, pT-ordered, zero-padded"),
        Field("num_constituents", (), "int32", "", INTEGER,
              "rows of constituents filled (at most 200)"),
        Field("jet", (4,), "float32", "GeV, 1, rad, GeV", FINITE,
              "HR jet (pt, eta, phi, mass)"),
        Field("jet_lr2", (4,), "float32", "GeV, 1, rad, GeV", FINITE,
              "LR_2 jet (pt, eta, phi, mass)"),
        Field("jet_lr4", (4,), "float32", "GeV, 1, rad, GeV", FINITE,
              "LR_4 jet (pt, eta, phi, mass)"),
        Field("jet_lr8", (4,), "float32", "GeV, 1, rad, GeV", FINITE,
              "LR_8 jet (pt, eta, phi, mass)"),
        Field("image_centre", (2,), "float32", "1, rad", FINITE,
              "(eta, phi) of the window centre"),
        Field("is_top", (), "int8", "", INTEGER, "1 for top-quark jets, 0 for QCD jets"),
    ),
)

# Calorimeter images of whole events for CALPAGAN (paper 002 §2), as written by caloml.events
# (Pythia 8 at 13 TeV, each event rendered twice): ECAL + HCAL energy per tower of a 72 x 72
# eta-phi grid of CMS towers (caloml.events.towers: CMS HCAL tower edges |ieta| = 1-36,
# |eta| < 4.191, x 72 phi bins of 5 degrees), once by the Delphes-CMS-card model ("fast", the
# paper's Delphes images) and once by the embedded shower simulator ("detailed", in place of
# its Geant4/CMSSW images), with the particle-level jets and the process label.
EVENTS = Layout(
    name="events",
    fields=(
        Field("fast", (72, 72), "float32", "GeV", ENERGY,
              "fast (Delphes CMS card) image: ECAL + HCAL energy per CMS tower (axis 1 eta, "
              "axis 2 phi, increasing)"),
        Field("detailed", (72, 72), "float32", "GeV", ENERGY,
              "detailed (showered) image of the same event: ECAL + HCAL energy per CMS tower "
              "(axis 1 eta, axis 2 phi, increasing)"),
        Field("truth_jets", (10, 4), "float32", "GeV, 1, rad, GeV", FINITE,
              "particle-level anti-kT R = 0.5 jets with pT > 20 GeV (pt, eta, phi, mass), "
              "pT-ordered, zero-padded"),
        Field("num_truth_jets", (), "int32", "", INTEGER,
              "particle-level jets with pT > 20 GeV (all of them, also beyond the 10 stored)"),
        Field("process", (), "int8", "", INTEGER, "0 for dijet, 1 for W+jets events"),
        Field("calo_truth_gev", (), "float32", "GeV", ENERGY,
              "simulator truth: energy of the final-state particles but neutrinos and muons "
              "reaching the calorimeter face inside the grid", optional=True),
    ),
)

LAYOUTS: dict[str, Layout] = {
    "srgamma": SRGAMMA, "calogan": CALOGAN, "clic": CLIC, "3dgan": THREEDGAN, "jets": JETS,
    "events": EVENTS,
}


def get_layout(geometry: str) -> Layout:
    """Returns the layout of ``geometry`` or raises InputError naming the known ones."""
    try:
        return LAYOUTS[geometry]
    except KeyError:
        raise InputError(
            f"unknown geometry {geometry!r}; expected one of {sorted(LAYOUTS)}"
        ) from None
