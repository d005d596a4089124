"""Proxies: scanning Resolve for clips that need one, filters, linking, why Resolve refuses a link."""
