"""Analysis of stored data: differential expression, result-set enrichment (issue 6)."""
