"""Evaluation of trained caloml models: the figures and numbers of each paper."""
