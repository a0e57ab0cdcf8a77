"""The built-in module library, one file per family. `nodes.manifest` lists it for the registry."""
