"""The audit log of match and report requests: who asked, when, how many; never identifiers."""
