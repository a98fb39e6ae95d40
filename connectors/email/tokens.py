"""Reply-token addresses: ``support+t<ticket>-<signature>@shop.example``.

The token names a ticket and is signed with the app's secret key, so nobody can guess
the address of someone else's conversation; the intake still checks the sender.
"""
import hashlib
import hmac
import re

from flask import current_app

_TOKEN = re.compile(r"^[^@+\s]+\+t(\d{1,12})-([0-9a-f]{10})@", re.IGNORECASE)


def _signature(ticket_id):
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, f"reply-token:{ticket_id}".encode(), hashlib.sha256).hexdigest()[:10]


def reply_address(address, ticket_id):
    """``support@shop.example`` -> ``support+t42-1a2b3c4d5e@shop.example``."""
    local, _, domain = address.partition("@")
    return f"{local}+t{ticket_id}-{_signature(ticket_id)}@{domain}"


def ticket_id_from(addresses):
    """The ticket id of the first correctly signed reply-token address, else None."""
    for address in addresses or ():
        match = _TOKEN.match(address or "")
        if match and hmac.compare_digest(match.group(2).lower(), _signature(int(match.group(1)))):
            return int(match.group(1))
    return None
