"""A plugin that lives in the test suite and uses every hook family, so the tests can
prove each one end to end. It is installed by entry point for subprocess tests
(tests/testplugin_dist) and registered directly for in-process ones."""
from core.types import Manifest

manifest = Manifest(name="testplugin", version="0.1.0", title="Test plugin",
                    requires=(), description="Exercises every hook family.")
