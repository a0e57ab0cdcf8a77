"""Experiments in the editor: GUI runs recorded in the run store, the Runs dock, comparison and the model registry."""
