"""Keeping the store current with NCBI GEO (issue 13).

- ``ratelimit``: the token bucket every request of the process draws from (NCBI's
  3 requests/s without an API key, 10/s with one).
- ``eutils``: the E-utilities client (esearch with history, esummary, elink, efetch),
  retries with jittered backoff, ``Retry-After``, clear errors naming the request.
- ``docsum``: an esummary document of db=gds turned into domain records.
- ``geo``: the sync itself: date windows, batches, the position stored with the
  records in one transaction, resume after any crash, the ``--full`` family files.
"""
