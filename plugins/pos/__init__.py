"""Point of sale: Counter sales: registers, shifts, sales, tenders, returns and the close (Z) report.

Only the manifest lives here, so a shop can list plugins without importing their
code. When the plugin is enabled the kernel imports ``plugins.pos.hooks``, which registers
its models, migrations, API and screens and implements the hooks it answers.
"""
from core.types import Manifest

manifest = Manifest(
    name="pos",
    version="0.1.0",
    title="Point of sale",
    requires=(),
    description="Counter sales: registers, shifts, sales, tenders, returns and the close (Z) report.",
)
