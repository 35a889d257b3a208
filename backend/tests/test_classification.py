"""Who is internal, external or a room, and why: the table the taskpane's explanations rest on."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmbridge.domain.addresses import AddressError, normalise_domain, parse_address, unicode_form
from crmbridge.domain.classification import Kind, OrgDomains, Reason, classify

ORG = OrgDomains.of(["contoso.com", "Contoso.DK", "blåbær.dk"])
ORG_WITH_SUBDOMAINS = OrgDomains.of(["contoso.com", "contoso.dk", "blåbær.dk"], include_subdomains=True)

IN, EX, RS = Kind.INTERNAL, Kind.EXTERNAL, Kind.RESOURCE

CASES = [
    # address, type, org, expected kind, expected reason
    ("anna@contoso.com", "required", ORG, IN, Reason.ORG_DOMAIN),
    ("Anna@CONTOSO.COM", "required", ORG, IN, Reason.ORG_DOMAIN),
    ("anna@contoso.dk", "optional", ORG, IN, Reason.ORG_DOMAIN),
    ("anna+crm@contoso.com", "required", ORG, IN, Reason.ORG_DOMAIN),
    ("anna+contoso.com@fabrikam.example", "required", ORG, EX, Reason.NOT_ORG_DOMAIN),
    ('"Anna Berg" <anna@contoso.com>', "required", ORG, IN, Reason.ORG_DOMAIN),
    ('"Berg, Anna" <anna@contoso.com>', "required", ORG, IN, Reason.ORG_DOMAIN),
    ("Anna Berg <anna@contoso.com>", "required", ORG, IN, Reason.ORG_DOMAIN),
    ('"anna@contoso.com" <mallory@evil.example>', "required", ORG, EX, Reason.NOT_ORG_DOMAIN),
    ("  anna@contoso.com  ", "required", ORG, IN, Reason.ORG_DOMAIN),
    ("anna@contoso.com.", "required", ORG, IN, Reason.ORG_DOMAIN),
    ("mailto:anna@contoso.com", "required", ORG, IN, Reason.ORG_DOMAIN),
    ("kunde@fabrikam.com", "required", ORG, EX, Reason.NOT_ORG_DOMAIN),
    ("kunde@contoso.com.evil.example", "required", ORG, EX, Reason.NOT_ORG_DOMAIN),
    ("kunde@contoso-com.example", "required", ORG, EX, Reason.NOT_ORG_DOMAIN),
    ("kunde@notcontoso.com", "required", ORG, EX, Reason.NOT_ORG_DOMAIN),
    ("kunde@contoso.co", "required", ORG, EX, Reason.NOT_ORG_DOMAIN),
    ("kunde@contoso.com.dk", "required", ORG, EX, Reason.NOT_ORG_DOMAIN),
    ("kunde@xcontoso.com", "required", ORG, EX, Reason.NOT_ORG_DOMAIN),
    ("kunde@contoso.community", "required", ORG, EX, Reason.NOT_ORG_DOMAIN),
    ("kunde@cοntoso.com", "required", ORG, EX, Reason.NOT_ORG_DOMAIN),  # Greek omicron: a homograph
    ("it@dk.contoso.com", "required", ORG, EX, Reason.SUBDOMAIN_NOT_COUNTED),
    ("it@dk.contoso.com", "required", ORG_WITH_SUBDOMAINS, IN, Reason.ORG_SUBDOMAIN),
    ("it@a.b.contoso.dk", "required", ORG_WITH_SUBDOMAINS, IN, Reason.ORG_SUBDOMAIN),
    ("kunde@contoso.com.evil.example", "required", ORG_WITH_SUBDOMAINS, EX, Reason.NOT_ORG_DOMAIN),
    ("kunde@evilcontoso.com", "required", ORG_WITH_SUBDOMAINS, EX, Reason.NOT_ORG_DOMAIN),
    ("ole@blåbær.dk", "required", ORG, IN, Reason.ORG_DOMAIN),
    ("ole@BLÅBÆR.DK", "required", ORG, IN, Reason.ORG_DOMAIN),
    ("ole@xn--blbr-roah.dk", "required", ORG, IN, Reason.ORG_DOMAIN),
    ("ole@blabaer.dk", "required", ORG, EX, Reason.NOT_ORG_DOMAIN),
    ("room.harbour@contoso.com", "resource", ORG, RS, Reason.RESOURCE),
    ("projector@fabrikam.com", "resource", ORG, RS, Reason.RESOURCE),
    ("anna@contoso.com", "resource", ORG, RS, Reason.RESOURCE),
    ("kunde@fabrikam.com", "optional", OrgDomains.of([]), EX, Reason.NOT_ORG_DOMAIN),
]


@pytest.mark.parametrize(("address", "participant_type", "org", "kind", "reason"), CASES,
                         ids=[f"{c[0].strip()}-{c[1]}-{'sub' if c[2].include_subdomains else 'exact'}" for c in CASES])
def test_each_address_is_classified_with_its_reason(address, participant_type, org, kind, reason):
    verdict = classify(address, participant_type, org)
    assert (verdict.kind, verdict.reason) == (kind, reason)


def test_the_table_has_at_least_thirty_addresses():
    assert len(CASES) >= 30


def test_an_internal_verdict_names_the_domain_it_matched():
    assert classify("it@dk.contoso.com", "required", ORG_WITH_SUBDOMAINS).matched_domain == "contoso.com"
    assert classify("it@dk.contoso.com", "required", ORG).matched_domain == "contoso.com"
    assert classify("x@fabrikam.com", "required", ORG).matched_domain is None


@pytest.mark.parametrize("raw", [
    "", "   ", "anna", "anna@", "@contoso.com", "anna@@contoso.com", "anna@contoso", "an na@contoso.com",
    "anna@contoso..com", ".anna@contoso.com", "anna.@contoso.com", "anna@-contoso.com", "anna@127.0.0.1",
    "a<b@contoso.com", "x" * 65 + "@contoso.com", "anna@" + "a" * 64 + ".com", "anna@contoso.com, bo@contoso.com",
])
def test_malformed_addresses_are_rejected_with_a_reason(raw):
    with pytest.raises(AddressError) as excinfo:
        parse_address(raw)
    assert str(excinfo.value)


def test_display_name_forms_keep_the_name_and_normalise_the_domain():
    address = parse_address('"Mette Kunde" <Mette@BLÅBÆR.DK>')
    assert address.email == "Mette@blåbær.dk"
    assert address.display_name == "Mette Kunde"
    assert address.ascii_domain == "xn--blbr-roah.dk"
    assert address.key == "mette@xn--blbr-roah.dk"


def test_an_explicit_display_name_wins_over_the_parsed_one():
    assert parse_address('"Parsed" <a@b.example>', "Given").display_name == "Given"


def test_a_malformed_address_is_classified_external_rather_than_trusted():
    assert classify("not-an-address", "required", ORG).kind is Kind.EXTERNAL


def test_org_domains_reject_a_malformed_configured_domain():
    with pytest.raises(AddressError):
        OrgDomains.of(["contoso"])


@pytest.mark.parametrize("domain", ["contoso.com", "Contoso.COM", "sub.kunde.dk", "xn--bcher-kva.example",
                                    "bücher.example", "ÅRHUS.dk", "exa-mple.co.uk", "a1.b2.example", "straße.de"])
def test_the_unicode_form_is_idnas_decoding(domain):
    """Without an xn-- label a normalised domain is its own Unicode form; with one, idna decodes it."""
    import idna

    ascii_domain = normalise_domain(domain)
    assert unicode_form(ascii_domain) == idna.decode(ascii_domain)


@given(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?){1,3}\.[a-z]{2,6}",
                     fullmatch=True))
def test_any_ascii_domain_decodes_to_itself_as_idna_decodes_it(domain):
    import idna

    try:
        ascii_domain = normalise_domain(domain)
    except AddressError:
        return  # e.g. a label idna refuses (such as one with -- in the third and fourth place)
    assert unicode_form(ascii_domain) == idna.decode(ascii_domain)
