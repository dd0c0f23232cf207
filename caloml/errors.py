"""Exceptions that entry scripts report in one line (see :mod:`caloml.cli`)."""


class TrainingDiverged(RuntimeError):
    """A training loss became NaN or infinite; the last good checkpoint is kept."""
