"""Which participants are colleagues (internal), which are customers (external), and why."""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from .addresses import AddressError, normalise_domain, parse_address


class Kind(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"
    RESOURCE = "resource"


class Reason(StrEnum):
    ORG_DOMAIN = "org-domain"
    ORG_SUBDOMAIN = "org-subdomain"
    SUBDOMAIN_NOT_COUNTED = "org-subdomain-not-counted"
    NOT_ORG_DOMAIN = "not-org-domain"
    RESOURCE = "resource"


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    reason: Reason
    matched_domain: str | None = None


@dataclass(frozen=True)
class OrgDomains:
    """The organization's own domains, as lower-case ASCII (IDNA)."""

    domains: frozenset[str]
    include_subdomains: bool = False

    @classmethod
    def of(cls, domains: Iterable[str], include_subdomains: bool = False) -> "OrgDomains":
        normalised = set()
        for domain in domains:
            if domain and domain.strip():
                normalised.add(normalise_domain(domain.strip().lstrip("@")))
        return cls(frozenset(normalised), include_subdomains)

    def parent_of(self, ascii_domain: str) -> str | None:
        """The org domain that ``ascii_domain`` is a subdomain of (label boundary only), if any."""
        labels = ascii_domain.split(".")
        for i in range(1, len(labels) - 1):
            candidate = ".".join(labels[i:])
            if candidate in self.domains:
                return candidate
        return None


def classify(email: str, participant_type: str, org: OrgDomains) -> Verdict:
    """Classify one participant. Rooms and equipment are resources whatever their domain.

    A domain counts only when it is an org domain exactly, or (when enabled) a subdomain on a label boundary;
    look-alikes such as ``contoso.com.evil.example`` or ``contoso-com.example`` are external.
    """
    if participant_type == "resource":
        return Verdict(Kind.RESOURCE, Reason.RESOURCE)
    try:
        domain = parse_address(email).ascii_domain
    except AddressError:
        return Verdict(Kind.EXTERNAL, Reason.NOT_ORG_DOMAIN)
    if domain in org.domains:
        return Verdict(Kind.INTERNAL, Reason.ORG_DOMAIN, domain)
    parent = org.parent_of(domain)
    if parent is not None:
        if org.include_subdomains:
            return Verdict(Kind.INTERNAL, Reason.ORG_SUBDOMAIN, parent)
        return Verdict(Kind.EXTERNAL, Reason.SUBDOMAIN_NOT_COUNTED, parent)
    return Verdict(Kind.EXTERNAL, Reason.NOT_ORG_DOMAIN)
