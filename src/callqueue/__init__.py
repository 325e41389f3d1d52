"""callqueue: licence-expiry reminders worked as a call queue."""

__version__ = "0.1.0"
