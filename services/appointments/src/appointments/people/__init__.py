"""People: the participants directory (refreshed from tokens) and look-ups in customers."""
