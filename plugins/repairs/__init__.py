"""Repairs: The service desk: tickets from intake to pickup, technician work, parts and labour.

Only the manifest lives here; importing this package does nothing else. The
business features arrive with their own issue; until then the plugin registers no
hooks, routes or tables.
"""
from core.types import Manifest

manifest = Manifest(
    name="repairs",
    version="0.1.0",
    title="Repairs",
    requires=(),
    description="The service desk: tickets from intake to pickup, technician work, parts and labour.",
)
