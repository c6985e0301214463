"""Warranty: Coverage from the sale, extended plans, claims and vendor recovery.

Only the manifest lives here; importing this package does nothing else. The
business features arrive with their own issue; until then the plugin registers no
hooks, routes or tables.
"""
from core.types import Manifest

manifest = Manifest(
    name="warranty",
    version="0.1.0",
    title="Warranty",
    requires=(),
    description="Coverage from the sale, extended plans, claims and vendor recovery.",
)
