"""External identity providers (OpenID Connect)."""

from hduce.adapters.oauth.google import GOOGLE_DISCOVERY_URL, GoogleOidcProvider, OidcClientConfig

__all__ = ["GOOGLE_DISCOVERY_URL", "GoogleOidcProvider", "OidcClientConfig"]
