"""Load tests: a closed-loop capacity run (wrk) and a researcher scenario (Locust).

    .venv/bin/python -m bench.loadtest.run --backend sqlite --runs capacity,realism

``queries.txt`` (built by ``python -m bench.loadtest.build_queries``) is the request
list both runs draw from. Locust is only ever started as a subprocess: it
monkey-patches the standard library on import, so nothing here imports it.
"""
