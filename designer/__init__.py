"""Pipeline Designer: a local, low-code machine-learning pipeline designer."""

__version__ = "0.1.0"
