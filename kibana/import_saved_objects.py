"""One-shot: set the ``kibana_system`` password, wait for Kibana, import the saved objects (overwrite):
``buoys.ndjson`` then ``rides.ndjson``, one import request per file.

Kibana 8 may not log in to Elasticsearch as ``elastic``: it uses the built-in ``kibana_system`` user, whose
password this script sets first (when ``ELASTICSEARCH_URL`` and ``KIBANA_SYSTEM_PASSWORD`` are given);
Kibana keeps retrying until then.

Idempotent: the objects have fixed ids, so a second run replaces them with the same content. Standard
library only (the kibana-setup image installs nothing). Exit 0 when every object was imported.

Environment: ``KIBANA_URL`` (http://kibana:5601), ``KIBANA_USERNAME`` (elastic), ``KIBANA_PASSWORD``,
``KIBANA_WAIT_S`` (300), ``SAVED_OBJECTS`` (comma-separated files; default buoys.ndjson,rides.ndjson
next to this script), ``ELASTICSEARCH_URL``
and ``KIBANA_SYSTEM_PASSWORD`` (optional; ``KIBANA_USERNAME``/``KIBANA_PASSWORD`` authenticate the call).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

DEFAULT_FILES = ("buoys.ndjson", "rides.ndjson")


def log(msg: str, **fields: object) -> None:
    print(json.dumps({"service": "kibana-setup", "msg": msg, **fields}), file=sys.stderr, flush=True)


def headers(username: str, password: str) -> dict[str, str]:
    result = {"kbn-xsrf": "kibana-setup"}
    if password:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        result["Authorization"] = f"Basic {token}"
    return result


def multipart(filename: str, content: bytes, boundary: str) -> bytes:
    """A ``multipart/form-data`` body with one ``file`` part, as the import API expects."""
    return b"".join(
        [
            f"--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'.encode(),
            b"Content-Type: application/ndjson\r\n\r\n",
            content,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )


def kibana_available(url: str, auth: dict[str, str]) -> bool:
    request = urllib.request.Request(f"{url}/api/status", headers=auth)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status = json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return status.get("status", {}).get("overall", {}).get("level") == "available"


def import_objects(url: str, auth: dict[str, str], path: Path) -> dict:
    boundary = uuid.uuid4().hex
    request = urllib.request.Request(
        f"{url}/api/saved_objects/_import?overwrite=true",
        data=multipart(path.name, path.read_bytes(), boundary),
        headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def set_kibana_system_password(es_url: str, auth: dict[str, str], password: str, deadline: float) -> bool:
    request = urllib.request.Request(
        f"{es_url}/_security/user/kibana_system/_password",
        data=json.dumps({"password": password}).encode(),
        headers={**auth, "Content-Type": "application/json"},
        method="POST",
    )
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10):
                return True
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                log(
                    "kibana_system password refused",
                    status=exc.code,
                    body=exc.read().decode(errors="replace")[:500],
                )
                return False
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            log("elasticsearch not reachable in time", url=es_url)
            return False
        time.sleep(3)


def main() -> int:
    url = os.environ.get("KIBANA_URL", "http://kibana:5601").rstrip("/")
    auth = headers(os.environ.get("KIBANA_USERNAME", "elastic"), os.environ.get("KIBANA_PASSWORD", ""))
    here = Path(__file__).resolve().parent
    names = os.environ.get("SAVED_OBJECTS", "") or ",".join(str(here / n) for n in DEFAULT_FILES)
    paths = [Path(name.strip()) for name in names.split(",") if name.strip()]
    deadline = time.monotonic() + float(os.environ.get("KIBANA_WAIT_S", "300"))
    es_url = os.environ.get("ELASTICSEARCH_URL", "").rstrip("/")
    system_password = os.environ.get("KIBANA_SYSTEM_PASSWORD", "")
    if es_url and system_password:
        if not set_kibana_system_password(es_url, auth, system_password, deadline):
            return 1
        log("kibana_system password set")
    while not kibana_available(url, auth):
        if time.monotonic() > deadline:
            log("kibana not available in time", url=url)
            return 1
        time.sleep(3)
    for path in paths:
        expected = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        try:
            result = import_objects(url, auth, path)
        except urllib.error.HTTPError as exc:
            log(
                "import refused",
                status=exc.code,
                body=exc.read().decode(errors="replace")[:2000],
                file=str(path),
            )
            return 1
        if not result.get("success") or result.get("successCount") != expected:
            log("import incomplete", expected=expected, result=result, file=str(path))
            return 1
        log("saved objects imported", count=expected, file=str(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
