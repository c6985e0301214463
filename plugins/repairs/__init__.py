"""Repairs: The service desk: tickets from intake to pickup, technician work, parts and labour.

Only the manifest lives here, so a shop can list plugins without importing their
code. When the plugin is enabled the kernel imports ``plugins.repairs.hooks``, which registers
its models, migrations, API and screens and implements the hooks it answers.
"""
from core.types import Manifest

manifest = Manifest(
    name="repairs",
    version="0.1.0",
    title="Repairs",
    requires=(),
    description="The service desk: tickets from intake to pickup, technician work, parts and labour.",
)
