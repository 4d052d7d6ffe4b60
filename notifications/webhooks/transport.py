"""Sending one webhook request, guarded against server-side request forgery.

An endpoint's URL is checked in form (``check_url``) and, at every attempt, its host is
resolved once and refused if any address is not public (``address_allowed``); the request
then goes to that checked address itself, with the original ``Host`` header and, for
https, the original name for SNI and certificate verification. No second DNS lookup takes
place, so a name that answers a public address to the check and a private one to the
connection (DNS rebinding) reaches nothing it should not.

``deliver`` never raises: every failure is an ``Outcome`` with an error, for the
delivery's log. No redirect is followed (a 3xx is an answer, and not a success), and at
most WEBHOOK_MAX_RESPONSE_BYTES of an answer are read.
"""

import contextlib
import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from django.conf import settings

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The cloud providers' instance metadata services (AWS, GCP, Azure, OpenStack; AWS over
# IPv6; Alibaba Cloud; Oracle Cloud): refused even inside WEBHOOK_ALLOWED_NETWORKS.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_CONNECTIONS = 100
MAX_KEEPALIVE_CONNECTIONS = 20
# A name with several addresses: the next one is tried when one refuses the connection
# (nothing was sent yet), up to this many.
MAX_ADDRESSES_TRIED = 3
MAX_ERROR_LENGTH = 500


class UnsafeURL(Exception):
    """A URL the sender refuses: its form, or the address its host resolves to."""


@dataclass(frozen=True, slots=True)
class ParsedTarget:
    """A URL that passed ``check_url``: the host in ASCII (IDNA, no IPv6 brackets), the
    effective port, the path with its query, and the ``Host`` header it is sent with."""

    scheme: str
    host: str
    port: int
    target: bytes
    host_header: str

    def url_for(self, ip: IPAddress) -> httpx.URL:
        """The same URL with the host replaced by one of its checked addresses."""
        default_port = 443 if self.scheme == "https" else 80
        return httpx.URL(
            scheme=self.scheme,
            host=str(ip),
            port=None if self.port == default_port else self.port,
            raw_path=self.target,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got: the status (None if no answer), how long it took, the
    beginning of the answer's body, or the error."""

    status_code: int | None = None
    duration_ms: int = 0
    excerpt: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def check_url(url: str) -> ParsedTarget:
    """The URL's parts, or UnsafeURL if it is not http(s), carries a user or password, has
    no host or a port outside 1..65535. Addresses are checked at delivery (``deliver``)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UnsafeURL(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise UnsafeURL(f"the scheme must be http or https, not {parsed.scheme or 'none'!r}")
    if parsed.userinfo:
        raise UnsafeURL("a user or password in the URL is not allowed")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise UnsafeURL("the URL has no host")
    port = parsed.port if parsed.port is not None else (443 if parsed.scheme == "https" else 80)
    if not 1 <= port <= 65535:
        raise UnsafeURL(f"the port {port} is not in 1..65535")
    return ParsedTarget(
        scheme=parsed.scheme,
        host=host,
        port=port,
        target=parsed.raw_path,
        host_header=parsed.netloc.decode("ascii"),
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of ``host`` (IPv4 and IPv6), in the resolver's order, without
    duplicates. socket.gaierror if the name does not resolve."""
    found: list[IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in socket.getaddrinfo(
        host, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM
    ):
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    return found


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in settings.WEBHOOK_ALLOWED_NETWORKS]


def _unmapped(ip: IPAddress) -> IPAddress:
    """An IPv4 address written as IPv6 reaches the IPv4 host: that one is judged. Mapped
    (::ffff:a.b.c.d), and behind a NAT64 gateway (64:ff9b::a.b.c.d)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def refusal(ip: IPAddress) -> str | None:
    """Why a request may not go to ``ip`` ("a private address", ...), or None."""
    ip = _unmapped(ip)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if any(ip in net for net in _allowed_networks()):
        return None
    for refused, reason in (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip in CGNAT, "a shared (CGNAT) address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    ):
        if refused:
            return reason
    return None


def address_allowed(ip: IPAddress) -> bool:
    """Whether a webhook request may go to ``ip``: a public address, or one inside
    WEBHOOK_ALLOWED_NETWORKS (never a cloud metadata address)."""
    return refusal(ip) is None


# --- The client ------------------------------------------------------------------------
# One per process, shared by its threads (httpx.Client is thread-safe), so connections to
# an endpoint are kept alive from one delivery to the next. A forked child (a Celery
# prefork worker) must not use its parent's sockets: it starts without a client.
_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _client_new() -> httpx.Client:
    return httpx.Client(
        limits=httpx.Limits(
            max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS
        ),
        follow_redirects=False,
        # No proxy from the environment: the request must go to the address checked.
        trust_env=False,
        # No cookies kept: the client is shared by every endpoint, keyed by address.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    )


def client(tls_name: str | None = None) -> httpx.Client:
    """The process's client, created on first use; for HTTPS, one client per server name.

    Requests go to the checked address (``https://203.0.113.5/``), so a pool keys its
    connections by address: two names served from one address would share a TLS connection
    whose certificate was checked for the first name only. A client per name keeps every
    kept-alive HTTPS connection to the name it was verified for (at most
    ``TLS_CLIENTS`` names are kept; the least recently used is let go)."""
    global _client
    if tls_name is None:
        if _client is None:
            with _client_lock:
                if _client is None:
                    _client = _client_new()
        return _client
    with _client_lock:
        found = _tls_clients.pop(tls_name, None)
        if found is None:
            found = _client_new()
        _tls_clients[tls_name] = found  # most recently used last
        while len(_tls_clients) > TLS_CLIENTS:
            _tls_clients.pop(next(iter(_tls_clients)))  # its connections close when freed
        return found


#: HTTPS clients kept, one per server name (see client()).
TLS_CLIENTS = 256
_tls_clients: dict[str, httpx.Client] = {}


def _forget_client_after_fork() -> None:
    # Not closed: its sockets are the parent's too. A lock held by another thread of the
    # parent at the fork would never be released in the child: take a new one.
    global _client, _client_lock, _tls_clients
    _client = None
    _tls_clients = {}
    _client_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_client_after_fork)


def _timeout_from_settings() -> httpx.Timeout:
    t: Mapping[str, float] = settings.WEBHOOK_TIMEOUT
    return httpx.Timeout(connect=t["connect"], read=t["read"], write=t["write"], pool=t["pool"])


def _error_text(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connect",
            httpx.ReadTimeout: "read",
            httpx.WriteTimeout: "write",
            httpx.PoolTimeout: "pool",
        }.get(type(exc))
        return f"timeout ({phase})" if phase else "timeout"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not accepted: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause}"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {exc}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _read_bounded(response: httpx.Response, *, limit: int, deadline: float) -> bytes:
    """At most ``limit`` bytes of the body, as sent (no decompression: no bomb); stops early
    at the deadline, so a server dripping its body does not hold the worker."""
    data = bytearray()
    for chunk in response.iter_raw():
        data += chunk
        if len(data) >= limit or time.monotonic() > deadline:
            break
    return bytes(data[:limit])


def _excerpt(data: bytes) -> str:
    text = data[: settings.WEBHOOK_RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace")
    # PostgreSQL's text holds no NUL character.
    return text.replace("\x00", "\ufffd")


def _send_first_reachable(
    http: httpx.Client,
    target: ParsedTarget,
    addresses: list[IPAddress],
    *,
    body: bytes,
    headers: httpx.Headers,
    timeout: httpx.Timeout,
) -> httpx.Response:
    """The answer of the first address that takes the connection (its body not read yet).
    Only a failed connection moves on to the next address: nothing was sent to it."""
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    tried = addresses[:MAX_ADDRESSES_TRIED]
    for ip in tried:
        request = http.build_request(
            "POST",
            target.url_for(ip),
            content=body,
            headers=headers,
            timeout=timeout,
            extensions=extensions,
        )
        try:
            return http.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            if ip == tried[-1]:
                raise
    raise AssertionError("no address to try")  # resolve() never returns an empty list here


def deliver(
    *,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: httpx.Timeout | None = None,
) -> Outcome:
    """POST ``body`` to ``url`` with ``headers`` (signing.headers), to an address checked
    now; never raises. ``timeout``: WEBHOOK_TIMEOUT unless given."""
    started = time.monotonic()

    def done(*, status_code: int | None = None, excerpt: str = "", error: str = "") -> Outcome:
        return Outcome(
            status_code=status_code,
            duration_ms=round((time.monotonic() - started) * 1000),
            excerpt=excerpt,
            error=error[:MAX_ERROR_LENGTH],
        )

    try:
        target = check_url(url)
    except UnsafeURL as exc:
        return done(error=f"refused: {exc}")
    try:
        addresses = resolve(target.host, target.port)
    except (OSError, UnicodeError) as exc:
        return done(error=f"DNS: {target.host} does not resolve ({exc})")
    if not addresses:
        return done(error=f"DNS: {target.host} has no IPv4 or IPv6 address")
    for ip in addresses:
        reason = refusal(ip)
        if reason is not None:
            return done(error=f"refused: {_unmapped(ip)} is {reason}")

    timeout = timeout if timeout is not None else _timeout_from_settings()
    request_headers = httpx.Headers(headers)
    request_headers["host"] = target.host_header
    request_headers["accept-encoding"] = "identity"
    try:
        http = client(target.host if target.scheme == "https" else None)
        response = _send_first_reachable(
            http, target, addresses, body=body, headers=request_headers, timeout=timeout
        )
    except Exception as exc:
        if not isinstance(exc, httpx.HTTPError | OSError):
            logger.exception("webhook request to %s failed unexpectedly", target.host)
        return done(error=_error_text(exc))
    try:
        read_timeout = timeout.read if timeout.read is not None else 5.0
        data = _read_bounded(
            response,
            limit=settings.WEBHOOK_MAX_RESPONSE_BYTES,
            deadline=time.monotonic() + read_timeout,
        )
    except Exception as exc:
        # The status came and the body broke off: still an answer.
        logger.info("webhook answer from %s cut short: %s", target.host, exc)
        data = b""
    # A body left unread closes the connection instead of returning it to the pool.
    with contextlib.suppress(Exception):
        response.close()
    return done(status_code=response.status_code, excerpt=_excerpt(data))
