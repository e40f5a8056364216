"""Text extraction: entities with spans, normalised sample characteristics (issue 6)."""
