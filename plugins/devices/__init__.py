"""Devices: Receipt printers (ESC/POS), the cash drawer and printer profiles.

Only the manifest lives here; importing this package does nothing else. The
business features arrive with their own issue; until then the plugin registers no
hooks, routes or tables.
"""
from core.types import Manifest

manifest = Manifest(
    name="devices",
    version="0.1.0",
    title="Devices",
    requires=(),
    description="Receipt printers (ESC/POS), the cash drawer and printer profiles.",
)
