"""Organizations of providers and their members (who may upload for which organization)."""
