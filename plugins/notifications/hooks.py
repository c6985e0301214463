"""Notifications's hook implementations. None yet: the plugin's features come with its own
issue, and until then enabling it adds nothing."""
