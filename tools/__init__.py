"""Developer tools run by dev.py; never imported by the service."""
