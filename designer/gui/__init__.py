"""The desktop designer (PySide6). The only package that imports Qt."""
