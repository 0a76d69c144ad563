"""Argon2id password hashing with the parameters from the configuration."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS = frozenset({
    "12345678", "123456789", "1234567890", "password", "password1", "matkhau", "matkhau123",
    "11111111", "00000000", "qwertyui", "abc12345", "iloveyou", "admin123", "12341234",
})


def _hasher() -> PasswordHasher:
    hasher = current_app.extensions.get("argon2")
    if hasher is None:
        config = current_app.config
        hasher = PasswordHasher(time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"],
                                parallelism=config["ARGON2_PARALLELISM"])
        current_app.extensions["argon2"] = hasher
        current_app.extensions["argon2_dummy"] = hasher.hash("not a password of anyone")
    return hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, spends the same time and says no
    (so the response time does not tell whether an account exists)."""
    hasher = _hasher()
    try:
        return hasher.verify(password_hash or current_app.extensions["argon2_dummy"], password) \
            and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
