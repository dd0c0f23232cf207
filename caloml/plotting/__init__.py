"""Figure helpers shared by every system (:mod:`caloml.plotting.core`); no paper specifics."""
