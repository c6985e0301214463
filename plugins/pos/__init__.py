"""Point of sale: Counter sales: registers, shifts, sales, tenders, returns and the close (Z) report.

Only the manifest lives here; importing this package does nothing else. The
business features arrive with their own issue; until then the plugin registers no
hooks, routes or tables.
"""
from core.types import Manifest

manifest = Manifest(
    name="pos",
    version="0.1.0",
    title="Point of sale",
    requires=(),
    description="Counter sales: registers, shifts, sales, tenders, returns and the close (Z) report.",
)
