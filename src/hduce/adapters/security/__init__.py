"""Password hashing (Argon2id, ``.passwords``), access tokens (JWT via joserfc,
``.tokens``, ``.key_ring``), TOTP (``.totp``) and user agents (``.user_agents``).

No re-exports here: importing one of them must not load the others' libraries (joserfc
and cryptography are about 11 MB, which ``hduce worker`` never uses).
"""
