"""A second, external OpenID Connect issuer for the tests: its own RSA and EC keys, its
discovery document and JWKS served over HTTP on loopback, and the ways it misbehaves."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


class SigningKey:
    def __init__(self, algorithm: str):
        self.algorithm = algorithm
        self.kid = uuid.uuid4().hex
        if algorithm == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            public = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk = {**public, "kid": self.kid, "alg": algorithm, "use": "sig"}

    def sign(self, claims: dict, **headers) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.algorithm, headers={"kid": self.kid, **headers}
        )


class ExternalIssuer:
    """The issuer's HTTP server, which a test can make misbehave: `keys` is what its JWKS
    publishes (withdraw a key by removing it), `delays` holds an endpoint's answer back
    ("discovery" or "jwks": seconds), and `stop` shuts the server down for real, so that
    connections to it are refused. `fetches` counts the requests each endpoint received."""

    PATHS = {"/.well-known/openid-configuration": "discovery", "/jwks.json": "jwks"}

    def __init__(self):
        self.keys = [SigningKey("RS256"), SigningKey("ES256")]
        self.delays: dict[str, float] = {}
        self.fetches: Counter[str] = Counter()
        self._counting = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self):
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                endpoint = issuer.PATHS.get(self.path)
                if endpoint is None:
                    self.send_error(404)
                    return
                with issuer._counting:
                    issuer.fetches[endpoint] += 1
                # A held-back answer ends with the server: it is dropped, unanswered.
                if issuer._stopping.wait(issuer.delays.get(endpoint, 0)):
                    return
                if endpoint == "discovery":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks.json"}
                else:
                    body = {"keys": [key.jwk for key in issuer.keys]}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self) -> ExternalIssuer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Shut the server down and close its socket: from now on, connections are refused."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def claims(self, *, email: str, tenant: str, audience: str = "loupe", **extra) -> dict:
        now = int(time.time())
        return {
            "iss": self.url,
            "aud": audience,
            "sub": f"ext|{email}",
            "email": email,
            "email_verified": True,
            "tenant": tenant,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            **extra,
        }

    def token(self, key_index: int = 0, **claims) -> str:
        return self.keys[key_index].sign(self.claims(**claims))
