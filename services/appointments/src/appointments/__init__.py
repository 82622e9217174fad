"""Dental appointments."""
