"""Qt-free core: pipeline files, validation, schema propagation, engine, recipes and bundles."""
