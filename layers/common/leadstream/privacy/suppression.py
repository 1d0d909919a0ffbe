"""Suppression keys (pure: no I/O). An erased person's identifiers are remembered only as keyed hashes
(HMAC-SHA256 with the stack's LinkSecret over the identifier's storage key), never as the e-mail or id:
without the secret, a suppression entry tells nobody whose it was, nor can it be tested against a guess."""

import hashlib
import hmac

from leadstream.identity.identifiers import Identifier


def suppression_hash(secret: str, identifier_key: str) -> str:
    """The keyed hash of an identifier known by its storage key (`Identifier.key`, `kind:digest`)."""
    return hmac.new(secret.encode(), identifier_key.encode(), hashlib.sha256).hexdigest()


def suppression_hashes(secret: str, ids: list[Identifier]) -> list[str]:
    return [suppression_hash(secret, i.key) for i in ids]
