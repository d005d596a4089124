"""DaVinci Resolve: connecting like Resolve's own scripts, and a thin layer over its API."""
