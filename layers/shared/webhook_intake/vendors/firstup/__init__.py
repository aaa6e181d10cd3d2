"""Firstup webhook events."""
