"""Devices: Receipt printers (ESC/POS), the cash drawer and printer profiles.

Only the manifest lives here, so a shop can list plugins without importing their
code. When the plugin is enabled the kernel imports ``plugins.devices.hooks``, which registers
its models, migrations, API and screens and implements the hooks it answers.
"""
from core.types import Manifest

manifest = Manifest(
    name="devices",
    version="0.1.0",
    title="Devices",
    requires=(),
    description="Receipt printers (ESC/POS), the cash drawer and printer profiles.",
)
