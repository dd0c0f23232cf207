"""3DGAN (paper 003 §4): variable-angle 3D electron showers for a requested energy and angle."""
