"""Bookings: appointments, their statuses and the no-double-booking rule."""
