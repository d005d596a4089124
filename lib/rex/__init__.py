"""Rex: small Unix tools that keep DaVinci Resolve facilities safe and fast."""

__version__ = "0.1.0"
