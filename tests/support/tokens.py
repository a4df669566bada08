"""Hand-made tokens for attacks: signed with the development issuer's own key unless said."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from tenants.identity import dev_issuer


def dev_claims(*, email: str, tenant: str, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": dev_issuer.issuer_id(),
        "aud": settings.OIDC_AUDIENCE,
        "sub": f"dev|{email}",
        "email": email,
        "email_verified": True,
        "tenant": tenant,
        "role": "viewer",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


def dev_signed(claims: dict) -> str:
    kid = dev_issuer.jwks_document()["keys"][0]["kid"]
    return jwt.encode(claims, dev_issuer.private_key(), algorithm="RS256", headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(header: dict, claims: dict) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def unsigned(claims: dict) -> str:
    """alg: none, no signature."""
    return _segments({"alg": "none", "typ": "JWT"}, claims) + "."


def hs256_with_public_key(claims: dict) -> str:
    """Algorithm confusion: HS256 keyed with the issuer's public key, which anyone can fetch."""
    public_pem = (
        dev_issuer.private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    kid = dev_issuer.jwks_document()["keys"][0]["kid"]
    signing_input = _segments({"alg": "HS256", "typ": "JWT", "kid": kid}, claims)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def with_forged_payload(token: str, **changes) -> str:
    """The same header and signature over a changed payload."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def with_header(token: str, **changes) -> str:
    """The same payload and signature under a changed header."""
    header, payload, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    fields.update(changes)
    return f"{_b64(json.dumps(fields).encode())}.{payload}.{signature}"
