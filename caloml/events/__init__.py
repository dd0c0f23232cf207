"""Pythia 8 events rendered twice into 72 x 72 calorimeter tower images (CALPAGAN data)."""
