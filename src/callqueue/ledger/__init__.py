"""Ledger (台账) import and export: reading cells, checking rows, writing records."""
