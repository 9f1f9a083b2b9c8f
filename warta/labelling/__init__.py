"""Batch labelling: input walk, worker pool, output encoders and the engine behind `warta label`."""
