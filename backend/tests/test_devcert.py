"""`crmbridge dev-cert`: a CA and a localhost certificate that browsers and Outlook accept once the CA is trusted."""

import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from crmbridge import devcert


@pytest.fixture
def files(tmp_path):
    return devcert.create(tmp_path / "certs")


def load(files):
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
    key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    return cert, ca, key


def test_the_certificate_names_localhost_and_the_loopback_addresses(files):
    cert, _, _ = load(files)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"),
                                                         ipaddress.ip_address("::1")]


def test_the_key_matches_the_certificate(files):
    cert, _, key = load(files)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()


def test_the_certificate_is_signed_by_the_ca_for_server_use_and_short_lived(files):
    cert, ca, _ = load(files)
    cert.verify_directly_issued_by(ca)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= datetime.timedelta(days=398)


def test_the_ca_can_vouch_only_for_the_local_names(files):
    _, ca, _ = load(files)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert set(constraints.value.permitted_subtrees) == {
        x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_network("127.0.0.1/32")),
        x509.IPAddress(ipaddress.ip_network("::1/128")),
    }


def test_the_private_key_is_readable_by_the_owner_only_and_the_ca_key_is_not_written(files, tmp_path):
    assert files.key.stat().st_mode & 0o077 == 0
    assert sorted(path.name for path in (tmp_path / "certs").iterdir()) == sorted(
        [devcert.CA_FILE, devcert.CERT_FILE, devcert.KEY_FILE])
    assert b"PRIVATE KEY" not in files.ca.read_bytes() + files.cert.read_bytes()


def handshake(files, hostname: str) -> None:
    """A TLS handshake in memory: a server with the pair, a client trusting only the development CA."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(files.cert, files.key)  # raises if the key does not belong to the certificate
    client_context = ssl.create_default_context(cafile=str(files.ca))
    to_client, from_client, to_server, from_server = (ssl.MemoryBIO() for _ in range(4))
    client = client_context.wrap_bio(to_client, from_client, server_hostname=hostname)
    server = server_context.wrap_bio(to_server, from_server, server_side=True)
    done = set()
    for _ in range(10):
        for side in (client, server):
            try:
                side.do_handshake()
                done.add(side)
            except ssl.SSLWantReadError:
                pass
        to_server.write(from_client.read())
        to_client.write(from_server.read())
        if done == {client, server}:
            return
    raise AssertionError("the handshake did not finish")


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1"])
def test_a_client_trusting_the_ca_accepts_the_local_server(files, hostname):
    handshake(files, hostname)


def test_a_client_trusting_the_ca_refuses_the_certificate_for_another_name(files):
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(files, "crm.example.com")


def test_the_command_writes_into_the_given_folder_and_prints_the_trust_steps(runner, tmp_path):
    target = tmp_path / "mine"
    result = runner.invoke(args=["dev-cert", "--dir", str(target)])

    assert result.exit_code == 0, result.output
    assert (target / devcert.CERT_FILE).exists() and (target / devcert.KEY_FILE).exists()
    for step in ("Windows", "Import-Certificate", "macOS", "security add-trusted-cert", "Linux",
                 "update-ca-certificates", "certutil", "HTTPS=1 scripts/dev"):
        assert step in result.output


def test_the_command_keeps_existing_files_unless_forced(runner, tmp_path):
    runner.invoke(args=["dev-cert", "--dir", str(tmp_path)])
    first = (tmp_path / devcert.CERT_FILE).read_bytes()

    kept = runner.invoke(args=["dev-cert", "--dir", str(tmp_path)])
    assert kept.exit_code == 0 and "already exists" in kept.output
    assert (tmp_path / devcert.CERT_FILE).read_bytes() == first

    assert runner.invoke(args=["dev-cert", "--dir", str(tmp_path), "--force"]).exit_code == 0
    assert (tmp_path / devcert.CERT_FILE).read_bytes() != first


def test_the_default_folder_is_instance_certs(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("CRMBRIDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    assert runner.invoke(args=["dev-cert"]).exit_code == 0
    assert (tmp_path / "instance" / "certs" / devcert.CERT_FILE).exists()
