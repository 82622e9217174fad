"""Matching people against enrollments (complete and partial, Fellegi-Sunter); outcome reports."""
