"""A staff bulletin board for Counterdesk (an example third-party plugin)."""
from core.types import Manifest

manifest = Manifest(
    name="bulletin",
    version="1.0.0",
    title="Bulletin board",
    description="Notices for the team, pinned to the home dashboard until they expire.",
)
