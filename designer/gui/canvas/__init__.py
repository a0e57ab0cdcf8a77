"""The node-graph canvas: scene, items, view, gestures and minimap."""
