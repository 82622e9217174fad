"""The linkage model the service learns from the enrollments it holds."""
