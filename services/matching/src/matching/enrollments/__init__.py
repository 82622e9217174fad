"""Enrollments of clients in homeless services, uploaded by providers (JSON or HMIS-style CSV)."""
