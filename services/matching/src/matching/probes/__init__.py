"""Probe resistance: per-caller limits on variants of one person's identifiers and on volume."""
