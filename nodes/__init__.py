"""The module library: one file per family. Importing this package registers every node type."""

from nodes import clean, data, evaluate, learn, score, split  # noqa: F401  (registration)
