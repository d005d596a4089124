"""rex-web: the read-only status page and the JSON API behind it."""
