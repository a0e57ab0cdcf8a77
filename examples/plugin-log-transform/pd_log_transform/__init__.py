"""Example Pipeline Designer plugin: the Log Transform module (`logt.log_transform`).

Kept light on purpose: the app imports `pd_log_transform.manifest` to list the module, and imports
`pd_log_transform.nodes` (and with it `pd_log_transform.step`) only when the module is used.
"""

__version__ = "0.1.0"
