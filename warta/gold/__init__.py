"""Gold data: labels (load, validate, merge) and leakage-free splits."""
