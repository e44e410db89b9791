"""The local AWS stack: moto in server mode, with the thin layer that makes it faithful (SPEC §14)."""
