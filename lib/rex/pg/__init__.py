"""PostgreSQL: servers, client programs, dumps, and scratch clusters."""
