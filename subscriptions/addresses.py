"""Which email addresses Paperboy accepts, the one form it stores each in, and the mailbox an
address reaches, for counting.

Only addresses every mail system carries the same way: a dot-atom local part in ASCII (no
quotes, spaces, backslashes or control characters, which have put line breaks into To: headers)
at a domain name (never an IP literal such as `[127.0.0.1]`). The domain is stored in its IDNA
(punycode) form, lower case, so `ada@EXÄMPLE.com` and `ada@xn--exmple-cua.com` are one address;
the local part keeps its case, and the unique constraint and lookups ignore case.
"""

from __future__ import annotations

import re

import idna

MAX_LENGTH = 254  # RFC 5321's limit on a forward path, less the angle brackets
MAX_LOCAL_LENGTH = 64
ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
LOCAL_PART = re.compile(rf"{ATOM}(?:\.{ATOM})*")
LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class UnsafeAddressError(ValueError):
    """Not an address we accept; the message is fit to show next to the field."""


def canonical(address: str) -> str:
    """The stored form of an address typed by a visitor (surrounding spaces are dropped), or
    UnsafeAddressError saying what is wrong with it."""
    address = address.strip()
    if not address or len(address) > MAX_LENGTH:
        raise UnsafeAddressError("Enter a valid email address.")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in address):
        raise UnsafeAddressError("Enter a valid email address. Control characters cannot be part of one.")
    if any(c.isspace() for c in address):
        raise UnsafeAddressError("Enter a valid email address.")
    local, at, domain = address.rpartition("@")
    if not at or not local:
        raise UnsafeAddressError("Enter a valid email address.")
    if '"' in local or "\\" in local:
        raise UnsafeAddressError("Enter a valid email address. Quotes and backslashes cannot be part of one.")
    if domain.startswith("["):
        raise UnsafeAddressError("Enter an address at a domain name, not at an IP address.")
    if len(local) > MAX_LOCAL_LENGTH or not LOCAL_PART.fullmatch(local):
        raise UnsafeAddressError("Enter a valid email address.")
    return f"{local}@{ascii_domain(domain)}"


def ascii_domain(domain: str) -> str:
    try:
        encoded = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise UnsafeAddressError("Enter a valid email address.") from None
    labels = encoded.split(".")
    if labels[-1].isdigit():  # an IPv4 address written without brackets
        raise UnsafeAddressError("Enter an address at a domain name, not at an IP address.")
    if len(labels) < 2 or not all(LABEL.fullmatch(label) for label in labels):  # one label: no public domain
        raise UnsafeAddressError("Enter a valid email address.")
    return encoded


def is_safe(address: str) -> bool:
    """Whether an address, as stored, is one we would accept now (rows from before may not be)."""
    try:
        return canonical(address) == address
    except UnsafeAddressError:
        return False


def stored_form(address: str) -> str:
    """The canonical form when the address is acceptable, else the address as it is (a row
    written before these rules; sending refuses it for good rather than mangling it)."""
    try:
        return canonical(address)
    except UnsafeAddressError:
        return address.strip()


def mailbox_key(address: str) -> str:
    """What rate limits count: the mailbox an address reaches. Case, quotes and a +tag do not
    make another mailbox (`"Ada+1"@Example.com` is ada@example.com)."""
    local, _, domain = address.strip().rpartition("@")
    try:
        domain = ascii_domain(domain)
    except UnsafeAddressError:
        pass
    local = local.replace('"', "").split("+", 1)[0]
    return f"{local}@{domain}".casefold()
