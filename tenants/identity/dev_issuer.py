"""The development issuer: Loupe signs its own tokens, for local use, when DEV_ISSUER_ENABLED is
on and no OIDC_ISSUER is configured (with DEBUG off, Loupe refuses to start with it unless
DEV_ISSUER_ALLOW_WITHOUT_DEBUG forces it).

Its RSA key pair lives under DEV_ISSUER_KEY_DIR (created on first use, private key 0600);
its JWKS and discovery document are served under /.well-known/, and
`manage.py issue_token` mints tokens with it. Tokens it signs are verified by the same code
as an external issuer's. For the admins' sign-in it is also an authorization server
(dev_authorization.py): a page to pick a member, and a token endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from functools import lru_cache
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from jwt.algorithms import RSAAlgorithm

KEY_FILE = "signing-key.pem"
ALGORITHM = "RS256"


def issuer_id() -> str:
    return settings.PUBLIC_URL.rstrip("/")


def _key_path() -> Path:
    return Path(settings.DEV_ISSUER_KEY_DIR) / KEY_FILE


def _create_key(path: Path) -> None:
    """Write a new key unless another process got there first (O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


@lru_cache(maxsize=1)
def private_key() -> rsa.RSAPrivateKey:
    path = _key_path()
    if not path.exists():
        _create_key(path)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _public_jwk() -> dict:
    jwk = RSAAlgorithm.to_jwk(private_key().public_key(), as_dict=True)
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    thumbprint = hashlib.sha256(canonical.encode()).digest()
    kid = base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode()
    return {**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}


def jwks_document() -> dict:
    return {"keys": [_public_jwk()]}


def discovery_document() -> dict:
    issuer = issuer_id()
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "authorization_endpoint": f"{issuer}/dev-issuer/authorize/",
        "token_endpoint": f"{issuer}/dev-issuer/token/",
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "subject_types_supported": ["public"],
        "response_types_supported": ["code", "id_token"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post"],
    }


def issue_token(*, email: str, tenant: str, role: str, ttl_seconds: int = 3600) -> str:
    """A signed token for `email` in tenant `tenant` (slug) with `role`."""
    now = int(time.time())
    claims = {
        "iss": issuer_id(),
        "aud": settings.OIDC_AUDIENCE,
        "sub": f"dev|{email.lower()}",
        "email": email.lower(),
        "email_verified": True,
        settings.OIDC_TENANT_CLAIM: tenant,
        settings.OIDC_ROLE_CLAIM: role,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return _signed(claims)


def issue_id_token(
    *, subject: str, email: str, audience: str, nonce: str | None, ttl_seconds: int = 300
) -> str:
    """An ID token for the admins' sign-in: who signed in, for the client that asked."""
    now = int(time.time())
    claims = {
        "iss": issuer_id(),
        "aud": audience,
        "sub": subject,
        "email": email,
        "email_verified": True,
        "iat": now,
        "auth_time": now,
        "exp": now + ttl_seconds,
    }
    if nonce:
        claims["nonce"] = nonce
    return _signed(claims)


def _signed(claims: dict) -> str:
    return jwt.encode(
        claims, private_key(), algorithm=ALGORITHM, headers={"kid": _public_jwk()["kid"]}
    )
