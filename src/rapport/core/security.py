"""Password hashing (argon2id), API token secrets, and signed session cookies."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from rapport.core.instance import session_secret_key

_hasher = PasswordHasher()
TOKEN_PREFIX = "rpt_"
SESSION_COOKIE = "rapport_session"
SESSION_MAX_AGE = 14 * 24 * 3600


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if the password matches; a missing hash never matches."""
    if not password_hash:
        _hasher.hash(password)  # spend the same time, so timing does not reveal accounts
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token_secret() -> tuple[str, str, str]:
    """A fresh API token: (the secret shown once, its display prefix, its stored SHA-256)."""
    body = secrets.token_urlsafe(32)
    token = TOKEN_PREFIX + body
    return token, token[: len(TOKEN_PREFIX) + 6], hash_token(token)


def hash_token(token: str) -> str:
    """Tokens are 256 random bits, so a fast hash is enough (no dictionary to attack)."""
    return hashlib.sha256(token.encode()).hexdigest()


def signer(salt: str) -> URLSafeTimedSerializer:
    """A serializer keyed with the session key; refuses a public one (see core/instance.py)."""
    return URLSafeTimedSerializer(session_secret_key(), salt=salt)


def _serializer() -> URLSafeTimedSerializer:
    return signer("rapport-session")


def sign_session(data: dict[str, Any]) -> str:
    return _serializer().dumps(data)


def read_session(value: str) -> dict[str, Any] | None:
    """The session payload, or None if the cookie is forged or expired."""
    try:
        data = _serializer().loads(value, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None
