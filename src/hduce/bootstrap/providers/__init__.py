"""The dishka providers, one module each; ``hduce.bootstrap.container`` picks the set.

Infrastructure, by role (which adapter serves each port):
``config`` (settings, clock, ids, scheduling policy), ``persistence`` (SQL or in
memory), ``shared_state`` (in memory), ``redis_state`` (Redis, imported only when configured), ``events`` (event bus, live fan-out),
``readiness``, ``delivery`` (email, SMS), ``security`` (hasher, tokens, Google OIDC).

Features, one per package of ``hduce.application`` (its use cases, APP scoped: they
hold no request state): ``appointments``, ``availability``, ``clinic``, ``identity``,
``notifications``, ``admin``, ``messaging``, ``demo``.
"""
