"""The plugin's manifest: what the palette lists, without importing any module code.

The entry point `log_transform` (group `pipeline_designer.modules`, see pyproject.toml) names this dict.
Every type id lives in the plugin's own namespace `logt`, so it cannot clash with another package's.
"""

MANIFEST = {
    "name": "Log transform (example plugin)",
    "namespaces": ["logt"],
    "modules": [
        {"type": "logt.log_transform", "title": "Log Transform", "category": "Clean and transform",
         "class": "pd_log_transform.nodes:LogTransform"},
    ],
}
