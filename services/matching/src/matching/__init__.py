"""Ex-customer to homeless-service matching."""
