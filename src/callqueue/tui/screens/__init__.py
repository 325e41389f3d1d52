"""Screens of the callqueue TUI."""
