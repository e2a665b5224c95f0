"""Returns: the files focal points send, their template, and reading them into tables."""
