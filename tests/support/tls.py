"""Throw-away certificates for TLS tests, made with the `openssl` command: a CA, a server certificate for 127.0.0.1
(and `localhost`) and a client certificate, all signed by that CA; unencrypted PKCS#8 keys."""

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    server_pem: Path  # key and certificate in one file (Kafka's PEM keystore)
    client_cert: Path
    client_key: Path


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


def _signed(folder: Path, name: str, subject: str, ca: Path, ca_key: Path, extensions: str) -> tuple[Path, Path]:
    key, csr, cert, ext = (folder / f"{name}.{s}" for s in ("key", "csr", "crt", "ext"))
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subject)
    ext.write_text(extensions)
    _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
             "-extfile", ext)  # fmt: skip
    key.chmod(0o600)
    return cert, key


def make_pki(folder: Path, server_names: str = "IP:127.0.0.1,DNS:localhost", ca_name: str = "dx-test-ca") -> Pki:
    """A CA and its server and client certificates under `folder`; `server_names` is the subjectAltName list."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.crt", folder / "ca.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
             "-subj", f"/CN={ca_name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    server_cert, server_key = _signed(
        folder, "server", "/CN=dx-test-server", ca, ca_key,
        f"subjectAltName={server_names}\nextendedKeyUsage=serverAuth,clientAuth\n",
    )  # fmt: skip
    client_cert, client_key = _signed(folder, "client", "/CN=dx-client", ca, ca_key, "extendedKeyUsage=clientAuth\n")
    server_pem = folder / "server.pem"
    server_pem.write_bytes(server_key.read_bytes() + server_cert.read_bytes())
    server_pem.chmod(0o600)
    return Pki(ca, server_cert, server_key, server_pem, client_cert, client_key)
