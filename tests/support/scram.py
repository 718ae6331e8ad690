"""A single-node broker whose client listener needs SASL/SCRAM (deploy/kafka/sasl/*.tmpl), formatted with the
credentials of `admin` and `dx` and started from the same jars as the local broker, in a throw-away folder."""

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from testing.processes import ROOT, free_port

LIBS = ROOT / ".cache" / "kafka-4.1.1" / "libs"
TEMPLATES = ROOT / "deploy" / "kafka" / "sasl"
ACL_COMMAND = f"java -cp {LIBS}/* org.apache.kafka.tools.AclCommand"  # what kafka-acls.sh runs


def _java(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["java", "-cp", f"{LIBS}/*", *args], capture_output=True, text=True, timeout=120, check=True)


@contextmanager
def scram_broker(
    template: str,
    admin_password: str,
    dx_password: str,
    users: Mapping[str, str] | None = None,
    append: str | None = None,
    **values: object,
) -> Iterator[str]:
    """Render `template` (a file in deploy/kafka/sasl/, then the file `append` of that folder) with free ports and
    `values`, with SCRAM users admin, dx and `users` (name → password); yields the bootstrap address."""
    if not LIBS.is_dir():
        pytest.skip("Kafka jars not fetched (deploy/local/kafka.sh fetch)")
    run = Path(tempfile.mkdtemp(prefix="dx-kafka-sasl-", dir="/var/tmp"))
    port, cport = free_port(), free_port()
    props = run / "server.properties"
    text = (TEMPLATES / template).read_text() + ((TEMPLATES / append).read_text() if append else "")
    placeholders: Mapping[str, object] = {"KAFKA_PORT": port, "CONTROLLER_PORT": cport, "LOG_DIRS": run / "logs",
                                          "ADMIN_PASSWORD": admin_password, **values}  # fmt: skip
    for key, value in placeholders.items():
        text = text.replace(f"@{key}@", str(value))
    props.write_text(text)
    cluster = _java("kafka.tools.StorageTool", "random-uuid").stdout.strip().splitlines()[-1]
    credentials = {"admin": admin_password, "dx": dx_password, **(users or {})}
    scram = [arg for n, pw in credentials.items() for arg in ("--add-scram", f"SCRAM-SHA-512=[name={n},password={pw}]")]
    _java("kafka.tools.StorageTool", "format", "--standalone", "-t", cluster, "-c", str(props), *scram)
    log = (run / "kafka.log").open("wb")
    proc = subprocess.Popen(
        ["java", "-Xmx512m", "-Xms128m", f"-Dlog4j2.configurationFile={ROOT}/deploy/kafka/log4j2.properties",
         f"-Dkafka.logs.dir={run}", "-cp", f"{LIBS}/*", "kafka.Kafka", str(props)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "Kafka Server started" not in (run / "kafka.log").read_text(errors="replace"):
            assert proc.poll() is None, (run / "kafka.log").read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the SCRAM broker did not start"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(run, ignore_errors=True)
