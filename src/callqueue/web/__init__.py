"""The TUI in a browser: a face beside cli.py and tui/, built on textual-serve."""
