"""Subcontracting: Repairs and warranty returns sent out to a vendor and back.

Only the manifest lives here; importing this package does nothing else. The
business features arrive with their own issue; until then the plugin registers no
hooks, routes or tables.
"""
from core.types import Manifest

manifest = Manifest(
    name="subcontract",
    version="0.1.0",
    title="Subcontracting",
    requires=("repairs",),
    description="Repairs and warranty returns sent out to a vendor and back.",
)
