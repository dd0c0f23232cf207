"""System: end-to-end particle reconstruction with calorimeter cells (paper 003 §5).

One network classifies the particle (γ vs π⁰ or e vs π±) and regresses its energy from the
ECAL and HCAL cells: a dense network, a 3-D CNN or a GoogLeNet-like network (``networks``, with
the settings of ``config``), trained by ``trainer``.
"""
