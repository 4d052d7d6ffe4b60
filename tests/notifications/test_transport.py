"""The sender against real HTTP servers on this machine (a ThreadingHTTPServer per test),
and its guard against server-side request forgery. No database."""

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from notifications.webhooks import transport
from notifications.webhooks.signing import headers as signed_headers
from notifications.webhooks.signing import secret_new
from notifications.webhooks.transport import (
    UnsafeURL,
    address_allowed,
    check_url,
    deliver,
    resolve,
)

BODY = b'{"type":"order.confirmed","data":{"order_id":7}}'


@dataclass
class Seen:
    """What the server received: one entry per request."""

    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    peers: list[tuple[str, int]] = field(default_factory=list)


Respond = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Server:
    port: int
    seen: Seen

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _answer(status: int, body: bytes = b"", extra: dict[str, str] | None = None) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (extra or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops reading (the bound on an answer's body) resets the
        # connection under a handler still writing: expected here.
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[Respond], Server]]:
    """Start a server on 127.0.0.1 (a free port) answering every POST with ``respond``."""
    servers: list[ThreadingHTTPServer] = []

    def start(respond: Respond) -> Server:
        seen = Seen()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                seen.bodies.append(self.rfile.read(length))
                seen.paths.append(self.path)
                seen.headers.append({k.lower(): v for k, v in self.headers.items()})
                seen.peers.append(self.client_address)
                respond(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return Server(port=server.server_address[1], seen=seen)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _headers() -> dict[str, str]:
    return signed_headers(
        secrets=[secret_new()], msg_id="msg_7_3", timestamp=int(time.time()), body=BODY
    )


def _send(url: str, **kwargs: Any) -> transport.Outcome:
    return deliver(url=url, body=BODY, headers=_headers(), **kwargs)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- Answers ---------------------------------------------------------------------------


def test_a_200_with_its_body(serve: Callable[[Respond], Server]) -> None:
    server = serve(_answer(200, b'{"ok": true}'))
    outcome = _send(server.url("/hook?k=1"))
    assert outcome.status_code == 200
    assert outcome.succeeded
    assert outcome.excerpt == '{"ok": true}'
    assert outcome.error == ""
    assert outcome.duration_ms >= 0
    assert server.seen.bodies == [BODY]
    assert server.seen.paths == ["/hook?k=1"]
    got = server.seen.headers[0]
    assert got["webhook-id"] == "msg_7_3"
    assert got["webhook-signature"].startswith("v1,")
    assert got["content-type"] == "application/json"
    assert got["user-agent"] == "ParkShare-Webhooks/1.0"
    assert got["host"] == f"127.0.0.1:{server.port}"


def test_a_500_is_an_answer_not_a_success(serve: Callable[[Respond], Server]) -> None:
    server = serve(_answer(500, b"database down"))
    outcome = _send(server.url())
    assert outcome.status_code == 500
    assert not outcome.succeeded
    assert outcome.excerpt == "database down"
    assert outcome.error == ""


def test_a_redirect_is_not_followed(serve: Callable[[Respond], Server]) -> None:
    server = serve(_answer(302, b"", {"Location": "/elsewhere"}))
    outcome = _send(server.url())
    assert outcome.status_code == 302
    assert not outcome.succeeded
    assert server.seen.paths == ["/hook"]


def test_a_huge_body_is_read_up_to_the_bound(
    serve: Callable[[Respond], Server], settings: Any
) -> None:
    server = serve(_answer(200, b"x" * 5_000_000))
    outcome = _send(server.url())
    assert outcome.status_code == 200
    assert outcome.excerpt == "x" * settings.WEBHOOK_RESPONSE_EXCERPT_BYTES == "x" * 1024


def test_an_excerpt_is_decoded_leniently(serve: Callable[[Respond], Server]) -> None:
    server = serve(_answer(400, b"bad \xff\x00 input"))
    outcome = _send(server.url())
    assert outcome.excerpt == "bad \ufffd\ufffd input"


def test_a_slow_answer_is_a_timeout(serve: Callable[[Respond], Server]) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(1.0)
        _answer(200)(handler)

    server = serve(slow)
    started = time.monotonic()
    outcome = _send(server.url(), timeout=httpx.Timeout(0.3))
    assert time.monotonic() - started < 0.9
    assert outcome.status_code is None
    assert outcome.error == "timeout (read)"
    assert not outcome.succeeded


def test_the_timeouts_come_from_the_settings(
    serve: Callable[[Respond], Server], settings: Any
) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(1.0)
        _answer(200)(handler)

    settings.WEBHOOK_TIMEOUT = {"connect": 3.0, "read": 0.3, "write": 5.0, "pool": 1.0}
    assert _send(serve(slow).url()).error == "timeout (read)"


def test_a_closed_port_is_connection_refused() -> None:
    outcome = _send(f"http://127.0.0.1:{_closed_port()}/hook")
    assert outcome.status_code is None
    assert outcome.error == "connection refused"


def test_a_name_that_does_not_resolve() -> None:
    outcome = _send("http://no-such-host.invalid/hook")
    assert outcome.status_code is None
    assert outcome.error.startswith("DNS: no-such-host.invalid does not resolve")


def test_connections_are_kept_alive(serve: Callable[[Respond], Server]) -> None:
    server = serve(_answer(204))
    assert _send(server.url()).status_code == 204
    assert _send(server.url()).status_code == 204
    assert len(server.seen.peers) == 2
    assert server.seen.peers[0] == server.seen.peers[1]


def test_no_cookie_is_kept(serve: Callable[[Respond], Server]) -> None:
    server = serve(_answer(200, b"", {"Set-Cookie": "session=abc; Path=/"}))
    _send(server.url())
    _send(server.url())
    assert "cookie" not in server.seen.headers[1]


def test_a_forked_child_makes_its_own_client() -> None:
    parent = transport.client()
    assert transport.client() is parent
    transport._forget_client_after_fork()
    assert transport.client() is not parent


# --- The URL's form --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://example.com:70/", "scheme"),
        ("http://user:pw@example.com/hook", "user or password"),
        ("http://user@example.com/hook", "user or password"),
        ("http:///hook", "no host"),
        ("http://example.com:0/hook", "port 0"),
        ("http://example.com:70000/hook", "port 70000"),
        ("not a url", "scheme"),
    ],
)
def test_check_url_refuses(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURL, match=reason):
        check_url(url)


def test_check_url_parts() -> None:
    target = check_url("https://Bücher.example:8443/in?a=1#frag")
    assert (target.scheme, target.host, target.port) == ("https", "xn--bcher-kva.example", 8443)
    assert target.target == b"/in?a=1"
    assert target.host_header == "xn--bcher-kva.example:8443"
    assert check_url("https://example.com/").port == 443
    assert check_url("https://example.com/").host_header == "example.com"
    assert check_url("http://[2001:db8::1]:8080/").host == "2001:db8::1"


def test_a_refused_form_is_an_outcome_not_an_exception() -> None:
    outcome = _send("ftp://example.com/hook")
    assert outcome.status_code is None
    assert outcome.error.startswith("refused: the scheme must be http or https")


# --- Addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "169.254.1.1",
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "fc00::1",
        "fe80::1",
        "ff02::1",
        "::",
        "::ffff:10.0.0.5",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:5",
        "fd00:ec2::254",
        "100.100.100.200",
    ],
)
def test_addresses_refused(address: str) -> None:
    assert not address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::5db8:d822"]
)
def test_public_addresses_allowed(address: str) -> None:
    assert address_allowed(ipaddress.ip_address(address))


def test_loopback_only_where_the_settings_allow_it(settings: Any) -> None:
    # The test settings allow 127.0.0.0/8 and ::1 (servers of the tests), nothing else.
    assert address_allowed(ipaddress.ip_address("127.0.0.1"))
    assert address_allowed(ipaddress.ip_address("::1"))
    assert address_allowed(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert not address_allowed(ipaddress.ip_address("169.254.169.254"))
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert not address_allowed(ipaddress.ip_address("127.0.0.1"))
    assert not address_allowed(ipaddress.ip_address("::1"))


def test_metadata_addresses_refused_even_inside_the_allowed_networks(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_NETWORKS = ["0.0.0.0/0", "::/0"]
    assert address_allowed(ipaddress.ip_address("10.0.0.5"))
    assert not address_allowed(ipaddress.ip_address("169.254.169.254"))
    assert not address_allowed(ipaddress.ip_address("::ffff:169.254.169.254"))
    assert not address_allowed(ipaddress.ip_address("fd00:ec2::254"))


def test_resolve_gives_the_addresses() -> None:
    assert ipaddress.ip_address("127.0.0.1") in resolve("localhost", 80)
    assert resolve("127.0.0.1", 80) == [ipaddress.ip_address("127.0.0.1")]
    assert resolve("::1", 80) == [ipaddress.ip_address("::1")]


def test_a_name_resolving_to_loopback_is_refused_unless_allowed(
    serve: Callable[[Respond], Server], settings: Any
) -> None:
    server = serve(_answer(200))
    url = server.url(host="localhost")
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    refused = _send(url)
    assert refused.status_code is None
    assert refused.error.startswith("refused: ")
    assert "is a loopback address" in refused.error
    assert server.seen.paths == []

    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    allowed = _send(url)
    assert allowed.status_code == 200, allowed.error
    assert server.seen.headers[0]["host"] == f"localhost:{server.port}"


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/"]
)
def test_the_metadata_service_is_refused(url: str) -> None:
    outcome = _send(url)
    assert outcome.status_code is None
    assert outcome.error.startswith("refused: ")
    assert "169.254.169.254" in outcome.error


def test_a_private_address_is_refused_with_its_reason() -> None:
    assert _send("http://10.0.0.5/hook").error == "refused: 10.0.0.5 is a private address"


def test_refused_if_any_address_is_not_allowed(
    serve: Callable[[Respond], Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(_answer(200))
    monkeypatch.setattr(
        transport,
        "resolve",
        lambda host, port: [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.1.2.3")],
    )
    outcome = _send(server.url(host="hooks.example.test"))
    assert outcome.error == "refused: 10.1.2.3 is a private address"
    assert server.seen.paths == []


def test_rebinding_is_refused_at_delivery(
    serve: Callable[[Respond], Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that answered a public address when looked at earlier and the metadata
    service's at the delivery: the delivery's own lookup decides, and refuses it."""
    server = serve(_answer(200))
    answers = iter([["93.184.216.34"], ["169.254.169.254"]])
    monkeypatch.setattr(
        transport,
        "resolve",
        lambda host, port: [ipaddress.ip_address(a) for a in next(answers)],
    )
    url = server.url(host="rebind.example.test")
    check_url(url)
    assert all(address_allowed(ip) for ip in transport.resolve("rebind.example.test", 80))
    outcome = _send(url)
    assert outcome.error == "refused: 169.254.169.254 is a cloud metadata address"
    assert server.seen.paths == []


def test_the_request_goes_to_the_checked_address_with_the_original_host(
    serve: Callable[[Respond], Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(_answer(200))
    # The server listens on 127.0.0.1 only: reached through the address checked.
    monkeypatch.setattr(
        transport, "resolve", lambda host, port: [ipaddress.ip_address("127.0.0.1")]
    )
    outcome = _send(server.url("/in", host="hooks.partner.example"))
    assert outcome.status_code == 200, outcome.error
    assert server.seen.headers[0]["host"] == f"hooks.partner.example:{server.port}"
    assert server.seen.paths == ["/in"]


def test_the_name_is_looked_up_once_per_delivery(
    serve: Callable[[Respond], Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(_answer(200))
    real = socket.getaddrinfo
    names: list[str] = []

    def counting(host: Any, *args: Any, **kwargs: Any) -> Any:
        names.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    assert _send(server.url(host="localhost")).status_code == 200
    # The connection itself goes to the address (a numeric lookup at most, no DNS).
    assert names.count("localhost") == 1
    assert set(names) <= {"localhost", "127.0.0.1"}


def test_the_next_address_is_tried_when_one_refuses(
    serve: Callable[[Respond], Server], monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    server = serve(_answer(200))
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    # 127.0.0.2 takes no connection on this port on Linux (nothing listens there).
    monkeypatch.setattr(
        transport,
        "resolve",
        lambda host, port: [ipaddress.ip_address("127.0.0.2"), ipaddress.ip_address("127.0.0.1")],
    )
    outcome = _send(server.url(host="two.example.test"))
    assert outcome.status_code == 200, outcome.error
    assert len(server.seen.paths) == 1


def test_https_sends_the_name_for_sni_and_verifies_the_certificate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Over TLS to the checked address, the handshake names the endpoint's host (SNI), and
    the certificate is verified: a self-signed one is not accepted."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(  # noqa: S603
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=hooks.partner.example",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def record_name(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        names.append(name)

    context.sni_callback = record_name
    tls = QuietServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    threading.Thread(target=tls.serve_forever, args=(0.05,), daemon=True).start()
    try:
        monkeypatch.setattr(
            transport, "resolve", lambda host, port: [ipaddress.ip_address("127.0.0.1")]
        )
        outcome = _send(f"https://hooks.partner.example:{tls.server_address[1]}/in")
    finally:
        tls.shutdown()
        tls.server_close()
    assert names == ["hooks.partner.example"]
    assert outcome.status_code is None
    assert outcome.error.startswith("TLS certificate not accepted: self-signed certificate")


def test_https_connections_are_kept_per_server_name() -> None:
    """Two names on one address never share a kept-alive TLS connection: the certificate
    was checked for one name only."""
    assert transport.client("a.example.test") is transport.client("a.example.test")
    assert transport.client("a.example.test") is not transport.client("b.example.test")
    assert transport.client("a.example.test") is not transport.client()
    for n in range(transport.TLS_CLIENTS + 5):
        transport.client(f"n{n}.example.test")
    assert len(transport._tls_clients) == transport.TLS_CLIENTS
