"""caloml's embedded shower simulator (numpy/scipy only; never imports TensorFlow).

``simulate(geometry, particle, num_showers, energy_gev, seed, **options)`` returns arrays laid
out like the geometry's HDF5 file; ``python -m caloml.sim`` writes such files.
"""

from caloml.sim.core import CHUNK_SIZE, GEOMETRIES, SimulatedData, simulate, simulate_to_file

__all__ = ["CHUNK_SIZE", "GEOMETRIES", "SimulatedData", "simulate", "simulate_to_file"]
