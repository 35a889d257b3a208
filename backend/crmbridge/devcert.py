"""``crmbridge dev-cert``: a local HTTPS certificate, because Outlook loads add-ins only over trusted https.

It makes a small certificate authority, trusted once on the developer's machine, and a certificate for
localhost / 127.0.0.1 / ::1 signed by it. The CA is name-constrained to those names and its private key is never
written, so trusting it cannot vouch for any other site; a new certificate means a new CA, trusted again.
"""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import config

DNS_NAMES = ("localhost",)
IP_ADDRESSES = ("127.0.0.1", "::1")
CA_FILE, CERT_FILE, KEY_FILE = "crmbridge-dev-ca.crt", "localhost.pem", "localhost-key.pem"
# Browsers refuse server certificates valid for longer than 398 days.
VALID_DAYS = 397


@dataclass(frozen=True)
class DevCert:
    ca: Path
    cert: Path
    key: Path


def paths(directory: Path) -> DevCert:
    return DevCert(directory / CA_FILE, directory / CERT_FILE, directory / KEY_FILE)


def create(directory: Path, now: datetime.datetime | None = None) -> DevCert:
    """Write a new CA certificate, server certificate and server key into ``directory`` (the key readable by the
    owner only) and return their paths."""
    now = now or datetime.datetime.now(datetime.UTC)
    not_before, not_after = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=VALID_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "crmbridge development"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"crmbridge development CA {now:%Y-%m-%d %H:%M}"),
    ])
    names = [x509.DNSName(name) for name in DNS_NAMES]
    addresses = [x509.IPAddress(ipaddress.ip_address(address)) for address in IP_ADDRESSES]
    networks = [x509.IPAddress(ipaddress.ip_network(address)) for address in IP_ADDRESSES]
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=names + networks, excluded_subtrees=None),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names + addresses), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = paths(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files.key.touch(mode=0o600)
    files.key.chmod(0o600)
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return files


def trust_steps(files: DevCert) -> str:
    ca = files.ca.resolve()
    return f"""\
Trust the development CA once on this machine ({ca}):

  Windows (Outlook, Edge and Chrome use the Windows store), in PowerShell:
    Import-Certificate -FilePath "{ca}" -CertStoreLocation Cert:\\CurrentUser\\Root

  macOS (Outlook, Safari and Chrome use the keychain):
    security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db "{ca}"

  Linux, system store (Debian/Ubuntu; on Fedora copy to /etc/pki/ca-trust/source/anchors/ and run update-ca-trust):
    sudo cp "{ca}" /usr/local/share/ca-certificates/crmbridge-dev-ca.crt && sudo update-ca-certificates
  Linux, Chrome/Chromium (NSS, package libnss3-tools):
    certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "crmbridge development CA" -i "{ca}"
  Firefox: Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import.

Then serve https:  HTTPS=1 scripts/dev
  or: crmbridge serve --certfile "{files.cert.resolve()}" --keyfile "{files.key.resolve()}"
A new certificate (--force, or after {VALID_DAYS} days) comes with a new CA: remove the old one and trust the new one.
"""


@click.command("dev-cert", help="Create a local HTTPS certificate for localhost (development).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the files. Default: instance/certs.")
@click.option("--force", is_flag=True, help="Replace existing files.")
def command(directory: Path | None, force: bool):
    directory = directory or Path(config.instance_path()) / "certs"
    files = paths(directory)
    if not force and files.cert.exists() and files.key.exists():
        click.echo(f"{files.cert} already exists (--force replaces it).")
        return
    files = create(directory)
    click.echo(f"Wrote {files.ca}, {files.cert} and {files.key}.\n")
    click.echo(trust_steps(files))
