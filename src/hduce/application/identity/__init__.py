"""Identity and access: accounts, sessions (access + refresh tokens), Google sign-in."""
