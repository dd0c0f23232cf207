"""Block-by-block iteration over the events of a file, with an optional progress bar."""

from __future__ import annotations

from collections.abc import Iterator


def block_starts(total: int, block_size: int, progress: bool = False) -> Iterator[int]:
    """The first event of every block of ``block_size`` events out of ``total``.

    With ``progress`` a tqdm bar counts the events of each block once its caller has
    processed it (the bar advances when the next start is asked for).
    """
    starts = range(0, total, block_size)
    if not progress:
        yield from starts
        return
    from tqdm import tqdm  # only needed for interactive runs

    with tqdm(total=total, unit="event", smoothing=0.1) as bar:
        for start in starts:
            yield start
            bar.update(min(block_size, total - start))
