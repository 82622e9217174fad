"""Identity provider and customer records."""
