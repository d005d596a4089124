"""Retention: the keys and policy with the pure decision, local pruning, the remote plan."""
