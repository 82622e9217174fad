"""Cohorts larger than one request: jobs that run in the background, rows in PostgreSQL."""
