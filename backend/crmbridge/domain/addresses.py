"""Email addresses as people type them: ``"Name" <a@b.example>``, plus-addressing, Unicode domains."""

import re
from dataclasses import dataclass
from functools import lru_cache

import idna

_ANGLE_FORM = re.compile(r'^\s*(?:"(?P<quoted>[^"]*)"|(?P<bare>[^<>"]*?))\s*<(?P<addr>[^<>]*)>\s*$')
# Characters never valid unquoted in a local part; quoted local parts are not accepted (nobody needs them here).
_LOCAL_FORBIDDEN = re.compile(r'[\s"(),:;<>@\[\\\]]')
MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_LENGTH = 64


@dataclass(frozen=True)
class Address:
    """A checked address. ``email`` keeps the local part as given and the domain in lower-case Unicode."""

    email: str
    display_name: str
    ascii_domain: str

    @property
    def key(self) -> str:
        """The form two addresses are compared in: case-insensitive, IDNA-normalised domain."""
        local = self.email.rsplit("@", 1)[0]
        return f"{local.casefold()}@{self.ascii_domain}"


class AddressError(ValueError):
    """An address that cannot be used; the message says why in words a person can act on."""


@lru_cache(maxsize=4096)
def normalise_domain(domain: str) -> str:
    """Return the domain as lower-case ASCII (IDNA, UTS 46), or raise AddressError."""
    domain = domain.strip().rstrip(".")
    if not domain:
        raise AddressError("the domain is missing")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise AddressError(f"'{domain}' is not a valid domain name") from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2:
        raise AddressError(f"'{domain}' is not a full domain name (expected something like example.com)")
    if labels[-1].isdigit():
        raise AddressError(f"'{domain}' is an IP address, not a domain name")
    return ascii_domain


def unicode_form(ascii_domain: str) -> str:
    """A domain from ``normalise_domain`` in Unicode: only its ``xn--`` labels change, so a domain without one
    is its own Unicode form (and idna, slow per call, is left out)."""
    if "xn--" not in ascii_domain:
        return ascii_domain
    return idna.decode(ascii_domain)


def parse_address(raw: str, display_name: str | None = None) -> Address:
    """Parse ``a@b.example`` or ``"Name" <a@b.example>``; the explicit display name wins over the parsed one."""
    if not isinstance(raw, str) or not isinstance(display_name, str | None):
        raise AddressError("the address is empty")
    return _parse(raw, display_name)


@lru_cache(maxsize=65536)
def _parse(raw: str, display_name: str | None) -> Address:
    # Pure and called for every participant on every read: caching it keeps IDNA out of the hot path.
    if not raw.strip():
        raise AddressError("the address is empty")
    text = raw.strip()
    parsed_name = ""
    match = _ANGLE_FORM.match(text)
    if match:
        parsed_name = (match.group("quoted") or match.group("bare") or "").strip()
        text = match.group("addr").strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:"):]
    if text.count("@") != 1:
        raise AddressError(f"'{raw}' is not an email address (it needs exactly one @)")
    local, domain = text.split("@")
    if not local:
        raise AddressError(f"'{raw}' has nothing before the @")
    if len(local) > MAX_LOCAL_LENGTH:
        raise AddressError(f"the part before the @ in '{raw}' is longer than {MAX_LOCAL_LENGTH} characters")
    if _LOCAL_FORBIDDEN.search(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise AddressError(f"the part before the @ in '{raw}' has characters an address cannot have")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in local):
        raise AddressError(f"'{raw}' contains control characters")
    ascii_domain = normalise_domain(domain)
    unicode_domain = unicode_form(ascii_domain)
    email = f"{local}@{unicode_domain}"
    if len(f"{local}@{ascii_domain}") > MAX_ADDRESS_LENGTH:
        raise AddressError(f"'{raw}' is longer than {MAX_ADDRESS_LENGTH} characters")
    name = (display_name if display_name is not None else parsed_name).strip()
    return Address(email=email, display_name=name, ascii_domain=ascii_domain)


# An identity's address as Entra writes a UPN: plain ASCII, no display name, no mailto:, no look-alike letters
# (full-width "ｂｏｂ" or a domain that IDNA would fold into another one).
_IDENTITY = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def parse_identity(raw: object) -> Address:
    """The address that names a person to us (a token's claim, an integration's organizer): strictly
    ``local@domain`` in ASCII, so that no other spelling stands for someone else."""
    if not isinstance(raw, str) or not _IDENTITY.fullmatch(raw):
        raise AddressError(f"'{raw}' is not a plain address such as anna@contoso.com")
    return parse_address(raw)


def address_key(raw: str) -> str:
    """Comparison key of an address; falls back to a case-folded string for addresses that do not parse."""
    try:
        return parse_address(raw).key
    except AddressError:
        return raw.strip().casefold()
