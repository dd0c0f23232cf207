"""``tf.data`` pipelines that stream caloml HDF5 files block by block.

Files are validated once, then read in contiguous blocks with h5py inside a Python generator,
so a file is never loaded whole. Numpy pre-processing runs per block, before the blocks are
split into examples.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence

import h5py
import numpy as np
import tensorflow as tf

from caloml.data import preprocessing, srgamma
from caloml.errors import DataError
from caloml.io import hdf5
from caloml.io import schema as schema_lib
from caloml.sim import srgamma as srgamma_geometry

Block = dict[str, np.ndarray]
Transform = Callable[[Block], Mapping[str, np.ndarray]]

# Examples read from HDF5 at a time; a block of srgamma lr + hr is ~40 MB.
DEFAULT_BLOCK_SIZE = 1024
# Examples held by the shuffle buffer of srgamma_dataset (~2.5 KB each after pre-processing).
DEFAULT_SHUFFLE_BUFFER = 16384

_PI0_PDG = srgamma_geometry.PDG["pi0"]


def _read_block(
    h5: h5py.File, layout: schema_lib.Layout, keys: Sequence[str], start: int, stop: int
) -> Block:
    """Reads examples ``[start, stop)`` like :func:`caloml.io.hdf5.read_arrays`."""
    block = {}
    for key in keys:
        block[key] = hdf5.to_layout_shape(h5[key][start:stop], layout.field(key))
    return block


def _apply(transform: Transform | None, block: Block, path: str) -> Block:
    if transform is None:
        return block
    out = {key: np.asarray(value) for key, value in transform(block).items()}
    sizes = {key: len(value) if value.ndim else None for key, value in out.items()}
    if len(set(sizes.values())) != 1 or None in sizes.values():
        raise ValueError(
            f"transform of a block of {path!r} must return arrays with one common leading "
            f"(example) dimension, got leading sizes {sizes}"
        )
    return out


def _signature(block: Mapping[str, np.ndarray]) -> dict[str, tf.TensorSpec]:
    return {
        key: tf.TensorSpec(shape=(None, *value.shape[1:]), dtype=tf.as_dtype(value.dtype))
        for key, value in block.items()
    }


def hdf5_dataset(
    path: str | os.PathLike,
    layout: schema_lib.Layout,
    keys: Sequence[str],
    block_size: int = DEFAULT_BLOCK_SIZE,
    start: int = 0,
    stop: int | None = None,
    transform: Transform | None = None,
    check_values: bool = True,
) -> tf.data.Dataset:
    """Streams examples ``[start, stop)`` of ``keys`` from an HDF5 file, in file order.

    The file is validated once against ``layout`` (shapes, dtypes, finite non-negative
    energies), then read in contiguous blocks of ``block_size`` examples, so memory holds one
    block at a time. Per-example scalars stored as ``[N]`` or ``[N, 1]`` come back in the
    layout's shape (:func:`caloml.io.hdf5.to_layout_shape`). The dataset does not shuffle:
    apply ``dataset.shuffle(buffer_size)`` after it, with a buffer of several blocks, or
    examples stay in file order.

    Args:
        path: HDF5 file in ``layout``.
        layout: the file's layout.
        keys: keys to read.
        block_size: examples read (and transformed) at a time.
        start: first example.
        stop: one past the last example; default: the end of the file.
        transform: optional numpy function applied to each block, ``dict[key, [n, ...]]`` to
            a dict of arrays with a common leading dimension (any keys, shapes and dtypes).
            It is traced once on the first example to derive the output signature.
        check_values: also check that every energy is finite and non-negative (one pass over
            the file); False checks keys, shapes and dtypes only.

    Returns:
        A dataset of dicts of per-example tensors: ``{key: [*field.shape]}`` in the layout's
        dtypes, or the keys, per-example shapes and dtypes that ``transform`` returns.

    Raises:
        DataError: if the file does not match the layout.
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if ``keys`` is empty or ``block_size``, ``start`` or ``stop`` is out of
            range.
    """
    path = os.fspath(path)
    keys = list(keys)
    if not keys:
        raise ValueError("keys must name at least one key of the layout")
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    num_examples = hdf5.validate_file(path, layout, check_values=check_values, keys=keys)
    stop = num_examples if stop is None else stop
    if not 0 <= start <= stop <= num_examples:
        raise ValueError(
            f"{path!r} has {num_examples} examples; need 0 <= start <= stop <= {num_examples}, "
            f"got start={start}, stop={stop}"
        )

    with h5py.File(path, "r") as h5:
        # The first example (or an empty block) fixes keys, shapes and dtypes after transform.
        probe = _read_block(h5, layout, keys, start, min(start + 1, stop))
    signature = _signature(_apply(transform, probe, path))

    def blocks() -> Iterator[Block]:
        with h5py.File(path, "r") as h5:
            for block_start in range(start, stop, block_size):
                block_stop = min(block_start + block_size, stop)
                block = _read_block(h5, layout, keys, block_start, block_stop)
                yield _apply(transform, block, path)

    return tf.data.Dataset.from_generator(blocks, output_signature=signature).unbatch()


def _srgamma_block(block: Block, label: float, power: float) -> Block:
    """Pre-processes a block of srgamma examples into network inputs with channel axes."""
    out = srgamma.prepare(block["lr"], block["hr"], label, power)
    return {key: out[key] for key in ("lr", "hr", "label", "window_sum_gev")}


def _check_particle(path: str, stop: int, pdg: int) -> None:
    with h5py.File(path, "r") as h5:
        codes = np.asarray(h5["pdg"][:stop]).ravel()
    if pdg == _PI0_PDG:
        wrong = codes != _PI0_PDG
        expected = f"only pi0 (pdg {_PI0_PDG})"
    else:
        wrong = codes == _PI0_PDG
        expected = f"no pi0 (pdg {_PI0_PDG})"
    if wrong.any():
        index = int(np.argmax(wrong))
        raise DataError(
            f"{path!r}: example {index} has pdg {codes[index]}; expected {expected} "
            f"in this file (are the photon and pi0 files swapped?)"
        )


def srgamma_dataset(
    photon_path: str | os.PathLike,
    pi0_path: str | os.PathLike,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    num_examples: int | None = None,
    power: float = preprocessing.POWER,
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
    block_size: int = DEFAULT_BLOCK_SIZE,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Batches of pre-processed photon and pi0 examples for SR-GAN training (paper 000).

    Both files (layout ``srgamma``) are streamed block by block and pre-processed with
    :func:`caloml.data.preprocessing.preprocess_srgamma` (6×6 LR / 24×24 HR window,
    normalised, power-scaled). With ``shuffle``, the two streams are mixed at random with
    equal weights and shuffled with a buffer of ``shuffle_buffer`` examples, both seeded with
    ``seed``: the order is the same for the same seed (each further pass over the dataset
    reshuffles, reproducibly). Without ``shuffle``, photons and pi0s alternate in file order.
    When one file is exhausted the rest of the other follows.

    Args:
        photon_path: file of photon examples (no pdg 111).
        pi0_path: file of pi0 examples (pdg 111 only).
        batch_size: examples per batch.
        shuffle: mix and shuffle at random (training) or alternate in file order.
        seed: seed of the mixing and shuffling.
        num_examples: examples read from the start of each file; default: all.
        power: power-scaling exponent in (0, 1].
        shuffle_buffer: examples in the shuffle buffer.
        block_size: examples read from HDF5 at a time.
        drop_remainder: drop the last incomplete batch (static batch shapes).

    Returns:
        A dataset of dicts: ``lr`` [B, 6, 6, 1] and ``hr`` [B, 24, 24, 1] float32 (network
        inputs), ``label`` [B] float32 (1 for pi0, 0 for photon) and ``window_sum_gev`` [B]
        float32 (to map outputs back to GeV with
        :func:`~caloml.data.preprocessing.postprocess_srgamma`). Prefetched.

    Raises:
        DataError: if a file does not match the ``srgamma`` layout.
        ValueError: on bad arguments, if a file has fewer than ``num_examples`` examples, or if
            the photon file holds pi0s or the pi0 file anything else.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if shuffle and shuffle_buffer < 1:
        raise ValueError(f"shuffle_buffer must be >= 1, got {shuffle_buffer}")
    if num_examples is not None and num_examples < 0:
        raise ValueError(f"num_examples must be >= 0, got {num_examples}")
    if not 0 < power <= 1:
        raise ValueError(f"power must be in (0, 1], got power={power!r}")
    layout = schema_lib.SRGAMMA

    datasets = []
    for path, label, pdg in (
        (os.fspath(photon_path), srgamma.LABELS["photon"], srgamma_geometry.PDG["photon"]),
        (os.fspath(pi0_path), srgamma.LABELS["pi0"], _PI0_PDG),
    ):
        # Keys, shapes and counts only; hdf5_dataset checks the energies in one pass.
        available = hdf5.validate_file(path, layout, check_values=False, keys=["lr", "hr", "pdg"])
        if num_examples is not None and num_examples > available:
            raise DataError(
                f"num_examples={num_examples} but {path!r} has only {available} examples"
            )
        stop = available if num_examples is None else num_examples
        _check_particle(path, stop, pdg)
        transform = functools.partial(_srgamma_block, label=label, power=power)
        datasets.append(
            hdf5_dataset(path, layout, ["lr", "hr"], block_size, stop=stop, transform=transform)
        )

    if shuffle:
        dataset = tf.data.Dataset.sample_from_datasets(datasets, weights=[0.5, 0.5], seed=seed)
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    else:
        alternate = tf.data.Dataset.range(2).repeat()
        dataset = tf.data.Dataset.choose_from_datasets(
            datasets, alternate, stop_on_empty_dataset=False
        )
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
