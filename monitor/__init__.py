"""telmon: judges every call on an Asterisk PBX against a customer service charter."""

__version__ = "0.1.0"
