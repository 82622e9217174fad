"""Identity: credentials, sessions (access and refresh tokens), password reset, service clients."""
