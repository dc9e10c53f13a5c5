"""A real OpenID Provider on loopback for the single sign-on tests (I1), built with Authlib's server components.

Authlib's ``AuthorizationServer`` with its authorization code grant, the PKCE extension (``CodeChallenge``, S256
required: the token endpoint refuses a wrong verifier) and the OpenID Connect extension (``OpenIDCode``: the ID token
with ``nonce``, signed with the provider's own RSA key). It serves a discovery document, its JWKS, an authorize
endpoint that approves the configured user at once (no login page: the browser is an HTTP client following
redirects), and a token endpoint checking the client secret. What a test may turn to prove a refusal:

- ``signing_key``: sign with a key the JWKS does not hold (a forged ID token, same ``kid``);
- ``audience``, ``lifetime`` (negative: an expired token), ``nonce`` (a nonce other than the one asked for);
- ``rotate()``: a new key with a new ``kid`` that the JWKS serves from now on (key rotation);
- ``user``: who signs in (``sub``, ``email``, ``groups``...).
"""
from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

from tests.live_server import QuietRequestHandler

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # loopback over plain http (grc allows it for 127.0.0.1)


@dataclass
class Client:
    """The one client grc is at this provider (Authlib's ClientMixin methods)."""

    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(word for word in scope.split() if word in ("openid", "email", "profile"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return not self.redirect_uris or redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    """An authorization code (Authlib's AuthorizationCodeMixin), kept in memory until it is exchanged."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    user: dict[str, Any]
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class LoopbackProvider:
    """The provider's state and its server; ``url`` is its issuer."""

    def __init__(self, client_id: str = "grc", client_secret: str = "s3cret-of-the-client") -> None:
        self.client = Client(client_id, client_secret)
        self.kid_prefix = secrets.token_hex(4)  # a port used again by a later provider: its keys are new
        self.key = self._new_key(1)
        self.published = [self.key]
        self.signing_key: RSAKey | None = None  # None: sign with self.key
        self.audience: str | None = None  # None: the client id
        self.lifetime = 300
        self.nonce: str | None = None  # None: the nonce asked for
        self.user: dict[str, Any] = {}
        self.codes: dict[str, Code] = {}
        self.jwks_fetches = 0
        self.token_requests = 0
        app = self._app()
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="oidc-provider", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def rotate(self) -> None:
        """A new signing key with a new kid; the JWKS serves only it from now on."""
        self.key = self._new_key(int(str(self.key.kid).rsplit("-", 1)[1]) + 1)
        self.published = [self.key]

    def _new_key(self, number: int) -> RSAKey:
        return RSAKey.generate_key(2048, parameters={"kid": f"{self.kid_prefix}-{number}", "use": "sig",
                                                     "alg": "RS256"})

    def stop(self) -> None:
        """Stop serving (a test may stop it early: the provider is down); stopping twice changes nothing."""
        if not self.thread.is_alive():
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _app(self) -> Flask:
        app = Flask("oidc-provider")
        server = AuthorizationServer(app, query_client=self._query_client, save_token=lambda token, request: None)
        server.register_grant(self._grant_class(), [CodeChallenge(required=True), self._id_tokens()])

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            return jsonify({
                "issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid", "email", "profile"],
            })

        @app.get("/jwks")
        def jwks() -> Any:
            self.jwks_fetches += 1
            return jsonify(KeySet(self.published).as_dict(private=False))

        @app.get("/authorize")
        def authorize() -> Any:
            user = dict(self.user)
            grant = server.get_consent_grant(end_user=user)  # the request checked, as a consent page would
            return server.create_authorization_response(grant_user=user, grant=grant)  # and approved at once

        @app.post("/token")
        def token() -> Any:
            self.token_requests += 1
            return server.create_token_response()

        return app

    def _query_client(self, client_id: str) -> Client | None:
        return self.client if client_id == self.client.client_id else None

    def _grant_class(self) -> type[grants.AuthorizationCodeGrant]:
        provider = self

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, request: Any) -> None:
                data = request.payload.data
                provider.codes[code] = Code(code, request.client.client_id, request.payload.redirect_uri,
                                            request.payload.scope, data.get("nonce"), data.get("code_challenge"),
                                            data.get("code_challenge_method"), request.user)

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> dict[str, Any]:
                return authorization_code.user

        return CodeGrant

    def _id_tokens(self) -> OpenIDCode:
        provider = self

        class IdTokens(OpenIDCode):
            def exists_nonce(self, nonce: str, request: Any) -> bool:
                return False

            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.signing_key or provider.key

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": str(provider.key.kid)}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                now = int(time.time())
                return {"iss": provider.url, "aud": [provider.audience or client.client_id], "iat": now,
                        "exp": now + provider.lifetime}

            def get_authorization_code_claims(self, authorization_code: Code) -> dict[str, Any]:
                claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
                if provider.nonce is not None:
                    claims["nonce"] = provider.nonce
                return claims

            def generate_user_info(self, user: dict[str, Any], scope: str) -> UserInfo:
                return UserInfo(**user)

        return IdTokens(require_nonce=True)
