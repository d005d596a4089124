"""Backups: what a backup is and the one walk over a tree, verification, dedupe, .drp files, export."""
