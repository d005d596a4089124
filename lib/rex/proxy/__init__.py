"""Proxies: scanning for clips that need one, filters, encode jobs and the pool that runs
them, linking, why Resolve refuses a link."""
