"""Training of caloml networks: strategy helper, adversarial trainers, callbacks and export."""
