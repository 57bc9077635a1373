"""API keys: `jq_<prefix>_<secret>`; only the prefix and a SHA-256 of the whole key are stored."""
import hashlib
import hmac
import re
import secrets

from django.db import transaction
from django.utils import timezone
from rest_framework import authentication, exceptions

from queue_app import auth_throttle
from queue_app.models import ApiKey

KEY_SHAPE = re.compile(r"^jq_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{32,64})$")
LAST_USED_RESOLUTION_SECONDS = 60


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_key(user, name: str = "") -> tuple[ApiKey, str]:
    """Create a key for `user`; the raw key is returned once and never stored."""
    while True:
        prefix = secrets.token_hex(6)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    raw = f"jq_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(user=user, name=name, prefix=prefix, hashed_key=hash_key(raw))
    return key, raw


def revoke(key: ApiKey) -> None:
    if key.revoked_at is None:
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())


def lookup(raw: str) -> ApiKey | None:
    """The active key matching `raw`, compared in constant time; None when unknown or revoked."""
    match = KEY_SHAPE.match(raw or "")
    if not match:
        return None
    key = ApiKey.objects.select_related("user").filter(prefix=match.group(1)).first()
    if key is None or not hmac.compare_digest(key.hashed_key, hash_key(raw)):
        return None
    if key.revoked_at is not None or not key.user.is_active:
        return None
    return key


def touch(key: ApiKey) -> None:
    """Record last use, at most once a minute per key (keeps the hot path write-free)."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        with transaction.atomic():
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer jq_...`. Missing header: not this scheme; bad key: 401."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        auth_throttle.check(request)
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            auth_throttle.failed(request)
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <API key>'.")
        if len(parts) != 2:
            auth_throttle.failed(request)
            raise exceptions.AuthenticationFailed("Malformed Authorization header: expected 'Bearer <API key>'.")
        key = lookup(parts[1])
        if key is None:
            auth_throttle.failed(request)
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        touch(key)
        return key.user, key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
