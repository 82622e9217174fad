"""Code shared by every service: settings, database, auth, errors, logging, the app factory."""
