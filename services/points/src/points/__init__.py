"""Points ledger per account."""
