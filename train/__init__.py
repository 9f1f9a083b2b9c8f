"""Training runs: configs in, run folders (model, metrics, predictions) out."""
