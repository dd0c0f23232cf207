"""Small synthetic CLIC ECAL windows shared by the resampling tests."""

import numpy as np


def gaussian_shower(n: int = 2, sigma_cells: float = 2.0, seed: int = 0) -> np.ndarray:
    """Smooth showers [n, 51, 51, 25] near the window centre, well inside the edges."""
    rng = np.random.default_rng(seed)
    centres = np.arange(51) + 0.5
    out = []
    for _ in range(n):
        cx, cy = 25.5 + rng.uniform(-1, 1, size=2)
        lateral = np.exp(-0.5 * (((centres[:, None] - cx) ** 2 + (centres[None, :] - cy) ** 2)
                                 / sigma_cells**2))
        profile = np.arange(1, 26) ** 2 * np.exp(-np.arange(1, 26) / 4.0)
        out.append(lateral[:, :, None] * profile[None, None, :])
    return np.asarray(out, np.float32)
