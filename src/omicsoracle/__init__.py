"""OmicsOracle: search and analysis for NCBI GEO datasets and their PubMed articles."""

__version__ = "0.1.0"
