"""The Textual face of callqueue."""
