"""THROWAWAY stub package until the report branch lands."""
