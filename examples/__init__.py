"""Example applications bundled with amber (not part of the installed package)."""
