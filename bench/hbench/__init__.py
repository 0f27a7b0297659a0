"""The ``make bench`` harness (``bench/run.py`` is its command line).

Modules: ``system`` (tools, machine, processes), ``clinic`` (throwaway databases,
seeding, tokens, request files), ``load`` (wrk), ``profiling`` (py-spy),
``pgwire`` (a statement-counting PostgreSQL proxy), ``ceiling`` (pgbench replaying the
application's own SQL; authentication in process), ``scenarios`` and ``report``;
``in_process`` is what the in-process CPU benches (``booking_cpu.py``, ``request_cpu.py``)
share.
"""
