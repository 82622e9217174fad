"""Customer records: the profile every account has (email, country, language, roles)."""
