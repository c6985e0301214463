"""Notifications: Email and SMS to customers: templates, preferences, outbox and delivery status.

Only the manifest lives here; importing this package does nothing else. The
business features arrive with their own issue; until then the plugin registers no
hooks, routes or tables.
"""
from core.types import Manifest

manifest = Manifest(
    name="notifications",
    version="0.1.0",
    title="Notifications",
    requires=(),
    description="Email and SMS to customers: templates, preferences, outbox and delivery status.",
)
