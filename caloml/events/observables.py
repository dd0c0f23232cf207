"""Jets of 72 x 72 event images and the jet observables of CALPAGAN (paper 002, §3-4, Figs 7-12).

Event images are ``[N, 72, 72]`` tower energies in GeV on the grid of
:mod:`caloml.events.towers` (axis 1 eta, axis 2 phi). Every tower above ``threshold_gev`` is a
massless pseudo-particle at its tower centre with ``pT = E / cosh(eta_centre)``
(:func:`tower_constituents`); negative towers (a network's LeakyReLU output) are never
particles.

Jets (:func:`cluster_jets`), as the paper (§3: FastJet [14], then trimming [15]) and the
original code's validation (anti-kT R = 0.5, pT > 20 GeV; REFERENCES.md §6) describe them:

1. anti-kT, R = 0.5, E-scheme, on the towers of each event (FastJet);
2. trimming (Krohn, Thaler, Wang, "Jet Trimming", JHEP 02 (2010) 084, arXiv:0912.1342, the
   paper's ref. [15]): each jet's towers are re-clustered with kT, R_sub = 0.2, and subjets with
   ``pT < f_cut * pT_jet`` are dropped, f_cut = 0.03. Krohn et al. define the cut against a hard
   scale Lambda_hard (an event's H_T or the jet's pT) and tune R_sub and f_cut per analysis;
   caloml takes Lambda_hard = the untrimmed jet's pT with R_sub = 0.2, f_cut = 0.03, the
   trimmer of FastJet's example ``11-filter`` ("filtering with a pt cut as for trimming
   (arXiv:0912.1342)"), since the paper gives no values;
3. the trimmed jets with ``pT > pt_min_gev`` (20 GeV) ordered by pT; the leading
   ``max_jets`` (2) are kept.

Observables of a trimmed jet with towers ``i`` (pT_i, eta_i = y_i for massless towers, phi_i)
and four-momentum ``J = sum p_i`` (``pT_jet``, rapidity ``y_J``, ``phi_J``):

* ``pt``, ``eta`` (pseudorapidity), ``phi`` in [-pi, pi), ``mass`` = sqrt(J^2) (GeV);
* ``girth`` = sum pT_i dR(i, J) / pT_jet, the linear radial moment (Gallicchio and Schwartz;
  dR in (y, phi), FastJet's convention);
* ``two_point_moment`` = sum_{i<j} pT_i pT_j dR_ij / pT_jet^2, the two-point moment (energy
  correlation) with angular exponent beta = 1 over *unordered* pairs;
* ``tau1``, ``tau2``: N-subjettiness (Thaler and Van Tilburg) tau_N = sum pT_i min_a dR(i, a)
  / (sum pT_i R0) with beta = 1, R0 = the jet radius (0.5) and the axes ``a`` the exclusive-kT
  subjets of the trimmed towers (E-scheme, FastJet with R = 1000 so that nothing merges with
  the beam), as :mod:`caloml.jets.observables`; tau_N = 0 for a jet of at most N towers (each
  tower is its own axis). One exclusive-kT jet is ``J`` itself, so tau1 uses the jet axis;
* ``num_constituents``: towers of the trimmed jet.

Arrays are ``[N, max_jets]``, NaN where an event has fewer jets. An event image holding a NaN
or infinite pixel (a diverged network's output) gets NaN for everything: it must never pass for
a real event. :func:`event_observables` gives the paper's Figs 7-12 set: the eight observables
of jets 1 and 2 and ``delta_eta`` = eta_1 - eta_2, ``delta_phi`` = |phi_1 - phi_2| wrapped to
[0, pi].
"""

from __future__ import annotations

import warnings

import awkward as ak
import fastjet
import numpy as np

from caloml.errors import InputError
from caloml.events import towers
from caloml.jets import images as jet_images

# Original code's validation (REFERENCES.md §6): anti-kT R = 0.5, jets above 20 GeV.
JET_RADIUS = 0.5
PT_MIN_GEV = 20.0
# Trimming (paper ref. [15], Krohn, Thaler, Wang 2010): kT subjets of R_sub, kept above
# f_cut x pT_jet; the values of FastJet's trimming example (module docstring).
TRIM_RADIUS = 0.2
TRIM_FRACTION = 0.03
# The paper compares the two leading jets (Figs 7-12, Tables 1-2).
MAX_JETS = 2
# FastJet's largest allowed R for the exclusive-kT N-subjettiness axes (as caloml.jets).
_KT_AXES_R = 1000.0
# Events per FastJet call: bounds the awkward arrays of dense (network) images.
_EVENT_CHUNK = 256
# Constituent pairs (jets x K x K) per step of the two-point moment (~32 MB per array).
_PAIR_ELEMENTS = 1 << 22

# Per-jet observables in the paper's order (Figs 7-10, Tables 1-2 rows).
JET_OBSERVABLES = ("tau1", "tau2", "girth", "two_point_moment", "pt", "mass", "eta", "phi")
# The keys of event_observables: per observable jet 1 then jet 2, then the pair (Figs 11-12).
EVENT_OBSERVABLES = tuple(f"jet{k}_{name}" for name in JET_OBSERVABLES for k in (1, 2)) + (
    "delta_eta", "delta_phi")


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, np.float64)
    if images.ndim != 3 or images.shape[1:] != towers.IMAGE_SHAPE:
        raise InputError(f"event images must have shape [N, {towers.NUM_ETA}, {towers.NUM_PHI}] "
                         f"(GeV per tower), got shape {images.shape}")
    return images


def _check_settings(radius: float, pt_min_gev: float, trim_radius: float,
                    trim_fraction: float, max_jets: int, threshold_gev: float) -> None:
    for value, name in ((radius, "radius"), (trim_radius, "trim_radius")):
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"{name} must be a positive jet radius, got {value}")
    if not (np.isfinite(pt_min_gev) and pt_min_gev >= 0):
        raise InputError(f"pt_min_gev must be a finite pT >= 0 in GeV, got {pt_min_gev}")
    if not (np.isfinite(trim_fraction) and 0 <= trim_fraction < 1):
        raise InputError(f"trim_fraction must be in [0, 1), got {trim_fraction}")
    if int(max_jets) != max_jets or max_jets < 1:
        raise InputError(f"max_jets must be a positive integer, got {max_jets}")
    if not (np.isfinite(threshold_gev) and threshold_gev >= 0):
        raise InputError(f"threshold_gev must be a finite energy >= 0 in GeV, got "
                         f"{threshold_gev}")


def _wrap(dphi: np.ndarray) -> np.ndarray:
    """Azimuth differences in [-pi, pi)."""
    return np.mod(dphi + np.pi, 2.0 * np.pi) - np.pi


def _rapidity(momentum: np.ndarray) -> np.ndarray:
    """Rapidity of four-momenta (E, px, py, pz) ``[n, 4]``."""
    energy, pz = momentum[:, 0], momentum[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.5 * np.log((energy + pz) / (energy - pz))


def tower_constituents(images: np.ndarray, threshold_gev: float = 0.0) -> dict[str, np.ndarray]:
    """The towers above ``threshold_gev`` as massless pseudo-particles at the tower centres.

    Args:
        images: ``[N, 72, 72]`` tower energies in GeV (axis 1 eta, axis 2 phi).
        threshold_gev: towers with ``E <= threshold_gev`` (and NaN ones) are left out.

    Returns:
        Flat ``[m]`` arrays sorted by event, then eta, then phi tower: ``event``, ``i_eta``,
        ``i_phi`` (int64), ``energy`` (GeV), ``pt`` (``E / cosh eta``, GeV), ``eta``, ``phi``
        (the tower centre) and ``momentum`` ``[m, 4]`` (E, px, py, pz) in GeV.
    """
    images = _check_images(images)
    if not (np.isfinite(threshold_gev) and threshold_gev >= 0):
        raise InputError(f"threshold_gev must be a finite energy >= 0 in GeV, got "
                         f"{threshold_gev}")
    event, i_eta, i_phi = np.nonzero(images > threshold_gev)
    energy = images[event, i_eta, i_phi]
    eta = towers.ETA_CENTRES[i_eta]
    phi = towers.PHI_CENTRES[i_phi]
    pt = energy / np.cosh(eta)
    momentum = np.stack([energy, pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)],
                        axis=-1)
    return {"event": event.astype(np.int64), "i_eta": i_eta.astype(np.int64),
            "i_phi": i_phi.astype(np.int64), "energy": energy, "pt": pt, "eta": eta,
            "phi": phi, "momentum": momentum}


def _records(momentum: np.ndarray) -> ak.Array:
    return ak.zip({"px": momentum[:, 1], "py": momentum[:, 2], "pz": momentum[:, 3],
                   "E": momentum[:, 0]})


def _flat_constituents(sequence, min_pt: float, starts: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Jets above ``min_pt`` of a multi-event sequence and their particles.

    Returns ``(jet_momentum [J, 4], jet_group [J], owner [c], particle [c])``: the group
    (event) of each jet, and for each jet constituent its jet and its index in the flat input.
    """
    jets = sequence.inclusive_jets(min_pt)
    counts = ak.to_numpy(ak.num(jets, axis=1))
    momentum = np.stack([ak.to_numpy(ak.flatten(jets[f])) for f in ("E", "px", "py", "pz")],
                        axis=-1).reshape(-1, 4)
    group = np.repeat(np.arange(len(counts)), counts)
    per_jet = ak.flatten(sequence.constituent_index(min_pt), axis=1)
    sizes = ak.to_numpy(ak.num(per_jet, axis=1))
    owner = np.repeat(np.arange(len(sizes)), sizes)
    local = ak.to_numpy(ak.flatten(per_jet)).astype(np.int64)
    return momentum, group, owner, starts[group[owner]] + local


def _trim(constituent_momentum: np.ndarray, owner: np.ndarray, jet_pt: np.ndarray,
          trim_radius: float, trim_fraction: float) -> np.ndarray:
    """Which constituents survive trimming ``[c]`` bool (owner sorted, one group per jet)."""
    sizes = np.bincount(owner, minlength=len(jet_pt))
    starts = np.cumsum(sizes) - sizes
    sequence = fastjet.ClusterSequence(
        ak.unflatten(_records(constituent_momentum), sizes),
        fastjet.JetDefinition(fastjet.kt_algorithm, trim_radius))
    sub_momentum, sub_jet, sub_owner, sub_particle = _flat_constituents(sequence, 0.0, starts)
    sub_pt = np.hypot(sub_momentum[:, 1], sub_momentum[:, 2])
    # FastJet's SelectorPtFractionMin keeps subjets with pT >= f_cut * pT(reference jet).
    kept_subjet = sub_pt >= trim_fraction * jet_pt[sub_jet]
    kept = np.zeros(len(owner), bool)
    kept[sub_particle[kept_subjet[sub_owner]]] = True
    return kept


def _pad(owner: np.ndarray, num: int, *values: np.ndarray) -> tuple[np.ndarray, list]:
    """Per-group padded ``[num, K]`` copies of ``values`` (owner sorted) and their mask."""
    counts = np.bincount(owner, minlength=num)
    width = int(counts.max(initial=0))
    position = np.arange(len(owner)) - (np.cumsum(counts) - counts)[owner]
    mask = np.zeros((num, width), bool)
    mask[owner, position] = True
    padded = []
    for value in values:
        array = np.zeros((num, width))
        array[owner, position] = value
        padded.append(array)
    return mask, padded


def _two_point(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``sum_{i<j} pT_i pT_j dR_ij`` per row of padded ``[J, K]`` arrays (padding pT = 0)."""
    num, width = pt.shape
    out = np.zeros(num)
    step = max(1, _PAIR_ELEMENTS // max(width * width, 1))
    for start in range(0, num, step):
        block = slice(start, start + step)
        d_eta = eta[block, :, None] - eta[block, None, :]
        d_phi = _wrap(phi[block, :, None] - phi[block, None, :])
        weight = pt[block, :, None] * pt[block, None, :]
        # Every unordered pair appears twice among the ordered ones (i = j contributes 0).
        out[block] = 0.5 * np.einsum("jkl,jkl->j", weight, np.hypot(d_eta, d_phi))
    return out


def _tau2(momentum: np.ndarray, owner: np.ndarray, num: int, pt: np.ndarray,
          eta: np.ndarray, phi: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``sum pT_i min_a dR(i, a)`` over two exclusive-kT axes per jet (0 for <= 2 towers)."""
    counts = mask.sum(axis=1)
    out = np.zeros(num)
    selected = np.flatnonzero(counts > 2)
    if not selected.size:
        return out
    chosen = np.isin(owner, selected)
    sequence = fastjet.ClusterSequence(
        ak.unflatten(_records(momentum[chosen]), counts[selected]),
        fastjet.JetDefinition(fastjet.kt_algorithm, _KT_AXES_R))
    with warnings.catch_warnings():
        # fastjet 3.5.2's awkward interface warns about exclusive jets of the kt algorithm too.
        warnings.filterwarnings("ignore", "dcut and exclusive jets", UserWarning)
        axes = sequence.exclusive_jets(n_jets=2)
    axis_momentum = np.stack([ak.to_numpy(ak.flatten(axes[f])) for f in ("E", "px", "py", "pz")],
                             axis=-1)
    axis_y = _rapidity(axis_momentum).reshape(-1, 2)
    axis_phi = np.arctan2(axis_momentum[:, 2], axis_momentum[:, 1]).reshape(-1, 2)
    distance = np.hypot(eta[selected, :, None] - axis_y[:, None, :],
                        _wrap(phi[selected, :, None] - axis_phi[:, None, :])).min(axis=2)
    out[selected] = np.where(mask[selected], pt[selected] * distance, 0.0).sum(axis=1)
    return out


def _jet_observables(momentum: np.ndarray, owner: np.ndarray, jet_momentum: np.ndarray,
                     radius: float) -> dict[str, np.ndarray]:
    """Observables ``[J]`` of jets with constituents ``momentum`` ``[c, 4]`` (owner sorted)."""
    num = len(jet_momentum)
    kinematics = jet_images.jet_kinematics(jet_momentum)
    jet_pt, jet_y = kinematics[:, 0], _rapidity(jet_momentum)
    jet_phi = kinematics[:, 2]
    pt_c = np.hypot(momentum[:, 1], momentum[:, 2])
    eta_c = np.arcsinh(momentum[:, 3] / pt_c)
    phi_c = np.arctan2(momentum[:, 2], momentum[:, 1])
    mask, (pt, eta, phi) = _pad(owner, num, pt_c, eta_c, phi_c)
    counts = mask.sum(axis=1)
    sum_pt = pt.sum(axis=1)
    to_axis = np.hypot(eta - jet_y[:, None], _wrap(phi - jet_phi[:, None]))
    radial = np.where(mask, pt * to_axis, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {
            "pt": jet_pt, "eta": kinematics[:, 1], "phi": towers.wrap_phi(jet_phi),
            # A single massless tower: exactly 0 rather than the root of rounding noise.
            "mass": np.where(counts > 1, kinematics[:, 3], 0.0),
            "girth": radial / jet_pt,
            "two_point_moment": _two_point(pt, eta, phi) / jet_pt**2,
            "tau1": radial / (sum_pt * radius),
            "tau2": _tau2(momentum, owner, num, pt, eta, phi, mask) / (sum_pt * radius),
            "num_constituents": counts.astype(np.float64),
        }
    # A lone tower is its own axis and has no pair partner: exactly 0.
    for name in ("girth", "two_point_moment", "tau1", "tau2"):
        values[name][counts <= 1] = 0.0
    return values


def _cluster_chunk(images: np.ndarray, radius: float, pt_min_gev: float, trim_radius: float,
                   trim_fraction: float, max_jets: int, threshold_gev: float
                   ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Jets of a chunk of finite images: ``(values [n, max_jets], tower_jet, num_jets [n])``."""
    n = len(images)
    values = {name: np.full((n, max_jets), np.nan)
              for name in (*JET_OBSERVABLES, "num_constituents")}
    tower_jet = np.full((n, *towers.IMAGE_SHAPE), -1, np.int8)
    num_jets = np.zeros(n)
    particles = tower_constituents(images, threshold_gev)
    if not len(particles["event"]):
        return values, tower_jet, num_jets
    counts = np.bincount(particles["event"], minlength=n)
    starts = np.cumsum(counts) - counts
    sequence = fastjet.ClusterSequence(
        ak.unflatten(_records(particles["momentum"]), counts),
        fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    # Trimming only lowers a jet's pT: jets below pt_min before it cannot pass after it.
    jet_momentum, jet_event, owner, particle = _flat_constituents(sequence, pt_min_gev, starts)
    if not len(jet_momentum):
        return values, tower_jet, num_jets
    jet_pt = np.hypot(jet_momentum[:, 1], jet_momentum[:, 2])
    kept = _trim(particles["momentum"][particle], owner, jet_pt, trim_radius, trim_fraction)
    owner, particle = owner[kept], particle[kept]
    trimmed = np.zeros((len(jet_momentum), 4))
    np.add.at(trimmed, owner, particles["momentum"][particle])
    trimmed_pt = np.hypot(trimmed[:, 1], trimmed[:, 2])
    passing = trimmed_pt > pt_min_gev
    num_jets = np.bincount(jet_event[passing], minlength=n).astype(np.float64)
    # Rank of each passing jet in its event by trimmed pT (ties: FastJet's order).
    order = np.lexsort((np.arange(len(trimmed_pt)), -trimmed_pt, ~passing, jet_event))
    first = np.searchsorted(jet_event[order], jet_event[order], side="left")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order)) - first
    leading = np.flatnonzero(passing & (rank < max_jets))
    # Constituents of the leading jets, grouped by leading jet.
    new_index = np.full(len(jet_momentum), -1)
    new_index[leading] = np.arange(len(leading))
    chosen = new_index[owner] >= 0
    owner_leading = new_index[owner[chosen]]
    group = np.argsort(owner_leading, kind="stable")
    owner_leading, particle_leading = owner_leading[group], particle[chosen][group]
    jets = _jet_observables(particles["momentum"][particle_leading], owner_leading,
                            trimmed[leading], radius)
    events, ranks = jet_event[leading], rank[leading]
    for name, value in jets.items():
        values[name][events, ranks] = value
    tower_jet[particles["event"][particle_leading], particles["i_eta"][particle_leading],
              particles["i_phi"][particle_leading]] = ranks[owner_leading]
    return values, tower_jet, num_jets


def cluster_jets(
    images: np.ndarray,
    radius: float = JET_RADIUS,
    pt_min_gev: float = PT_MIN_GEV,
    trim_radius: float = TRIM_RADIUS,
    trim_fraction: float = TRIM_FRACTION,
    max_jets: int = MAX_JETS,
    threshold_gev: float = 0.0,
) -> dict[str, np.ndarray]:
    """Trimmed anti-kT jets of event images and their observables (module docstring).

    Args:
        images: ``[N, 72, 72]`` tower energies in GeV (axis 1 eta, axis 2 phi).
        radius: anti-kT R, also the N-subjettiness R0.
        pt_min_gev: trimmed jets need ``pT > pt_min_gev``.
        trim_radius: R_sub of the kT subjets.
        trim_fraction: f_cut; subjets with ``pT < f_cut * pT_jet`` are dropped (0: none).
        max_jets: leading jets kept per event.
        threshold_gev: towers with ``E <= threshold_gev`` are not particles.

    Returns:
        ``{name: [N, max_jets]}`` float64 for the names of :data:`JET_OBSERVABLES` and
        ``num_constituents`` (jet ``k`` in column ``k - 1``, NaN where missing); ``num_jets``
        ``[N]`` (all trimmed jets above ``pt_min_gev``); ``tower_jet`` int8 ``[N, 72, 72]``, the
        column of the leading jet each tower belongs to after trimming, -1 for none (the jet
        images of Fig. 4, :func:`jet_image_mask`). Events with a non-finite pixel get NaN
        everywhere and no jet towers.
    """
    images = _check_images(images)
    _check_settings(radius, pt_min_gev, trim_radius, trim_fraction, max_jets, threshold_gev)
    jet_images._silence_fastjet_banner()
    n = len(images)
    max_jets = int(max_jets)
    parts: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]] = []
    broken = ~np.isfinite(images).all(axis=(1, 2))
    for start in range(0, n, _EVENT_CHUNK):
        block = images[start:start + _EVENT_CHUNK]
        block = np.where(broken[start:start + _EVENT_CHUNK, None, None], 0.0, block)
        parts.append(_cluster_chunk(block, radius, pt_min_gev, trim_radius, trim_fraction,
                                    max_jets, threshold_gev))
    names = (*JET_OBSERVABLES, "num_constituents")
    if parts:
        out = {name: np.concatenate([p[0][name] for p in parts]) for name in names}
        out["num_jets"] = np.concatenate([p[2] for p in parts])
        out["tower_jet"] = np.concatenate([p[1] for p in parts])
    else:
        out = {name: np.zeros((0, max_jets)) for name in names}
        out["num_jets"] = np.zeros(0)
        out["tower_jet"] = np.zeros((0, *towers.IMAGE_SHAPE), np.int8)
    for name in (*names, "num_jets"):
        out[name][broken] = np.nan
    return out


def jet_image_mask(images: np.ndarray, jets: dict[str, np.ndarray],
                   jet: int | None = None) -> np.ndarray:
    """The towers of the leading (trimmed) jets, ``[N, 72, 72]`` bool.

    Args:
        images: ``[N, 72, 72]`` the images ``jets`` were clustered from (shape check only).
        jets: :func:`cluster_jets`'s result for ``images``.
        jet: None for the towers of every kept jet, else the 0-based jet (0: leading).
    """
    images = _check_images(images)
    tower_jet = np.asarray(jets["tower_jet"])
    if tower_jet.shape != images.shape:
        raise InputError(f"jets were clustered from images of shape {tower_jet.shape}, not "
                         f"{images.shape}")
    return tower_jet >= 0 if jet is None else tower_jet == int(jet)


def observables_of_jets(jets: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The paper's Figs 7-12 set, ``{key: [N]}`` for :data:`EVENT_OBSERVABLES` and ``num_jets``.

    Args:
        jets: :func:`cluster_jets`'s result with at least 2 jets per event.

    Returns:
        ``jet<k>_<name>`` (jet k's observable, NaN without k jets), ``delta_eta`` = eta_1 - eta_2
        and ``delta_phi`` = |phi_1 - phi_2| wrapped to [0, pi] (NaN without two jets), and
        ``num_jets``.
    """
    if np.shape(jets["pt"])[1] < 2:
        raise InputError(f"event observables need the two leading jets; jets were clustered "
                         f"with max_jets = {np.shape(jets['pt'])[1]}")
    out = {f"jet{k}_{name}": np.asarray(jets[name][:, k - 1], np.float64)
           for name in JET_OBSERVABLES for k in (1, 2)}
    out["delta_eta"] = out["jet1_eta"] - out["jet2_eta"]
    out["delta_phi"] = np.abs(_wrap(out["jet1_phi"] - out["jet2_phi"]))
    out["num_jets"] = np.asarray(jets["num_jets"], np.float64)
    return out


def event_observables(
    images: np.ndarray,
    radius: float = JET_RADIUS,
    pt_min_gev: float = PT_MIN_GEV,
    trim_radius: float = TRIM_RADIUS,
    trim_fraction: float = TRIM_FRACTION,
    threshold_gev: float = 0.0,
) -> dict[str, np.ndarray]:
    """Jet observables of the two leading trimmed jets of each event (paper Figs 7-12).

    Args:
        images: ``[N, 72, 72]`` tower energies in GeV.
        radius, pt_min_gev, trim_radius, trim_fraction, threshold_gev: see
            :func:`cluster_jets`.

    Returns:
        ``{key: [N] float64}`` (:func:`observables_of_jets`).
    """
    return observables_of_jets(cluster_jets(images, radius, pt_min_gev, trim_radius,
                                            trim_fraction, 2, threshold_gev))
