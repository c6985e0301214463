"""Purchasing: Orders to suppliers, receiving, reorder suggestions and parts for tickets.

Only the manifest lives here; importing this package does nothing else. The
business features arrive with their own issue; until then the plugin registers no
hooks, routes or tables.
"""
from core.types import Manifest

manifest = Manifest(
    name="purchasing",
    version="0.1.0",
    title="Purchasing",
    requires=(),
    description="Orders to suppliers, receiving, reorder suggestions and parts for tickets.",
)
