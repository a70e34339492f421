"""HTTP fetching for feeds and pages: conditional requests, retries, a per-host rate limit and an address guard."""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from index.urls import CREDENTIALS_REFUSED, has_credentials, without_credentials


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("qa-articles")
    except Exception:  # noqa: BLE001 - a checkout that isn't installed still names itself
        return "0"


USER_AGENT = f"qa-articles/{_version()} (self-hosted question answering over news articles; feed and page fetcher)"
RETRY_STATUSES = {429, 500, 502, 503, 504}
REDIRECTS = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 5
MAX_RETRY_AFTER_S = 60.0


class FetchError(Exception):
    """A URL that could not be fetched; `reason` is short (`timeout`, `HTTP 500`, ...)."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class Refused(FetchError):
    """A URL the address guard does not let the service fetch (scheme, or a non-public address)."""


class TooSlow(FetchError):
    """The fetch went past its overall deadline (a page that trickles, or retries that add up)."""


class Stopped(Exception):
    """The stop event was set while waiting (rate limit or backoff)."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 when the conditional request says nothing changed
    content: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    charset: str | None = None  # from the Content-Type header

    @property
    def not_modified(self) -> bool:
        return self.status == 304


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    """An IP address as compared here (an IPv4-mapped IPv6 address as its IPv4 one), None if `text` is not one."""
    try:
        ip = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def embedded_ipv4(ip: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and that a packet to it may reach: 6to4
    (2002::/16), Teredo (2001::/32, its server and client), NAT64 (64:ff9b::/96, 64:ff9b:1::/48),
    IPv4-mapped and IPv4-compatible (::a.b.c.d) forms."""
    if ip.version != 6:
        return []
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if any(ip in net for net in _NAT64):
        found.append(low32)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # ::a.b.c.d (not :: or ::1, judged as they are)
        found.append(low32)
    return found


def _refusal(ip: Address) -> str | None:
    """What kind of address `ip` is when it is not a public one ("a loopback address"), else None.

    An IPv6 address that embeds an IPv4 address is judged by that one too: 2002:7f00:1:: is
    127.0.0.1 reached through 6to4.
    """
    for v4 in embedded_ipv4(ip):
        kind = _refusal(v4)
        if kind:
            return f"an IPv6 address for {v4}, {kind}"
    for attr, name in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_private", "private"),
        ("is_multicast", "multicast"),
        ("is_unspecified", "unspecified"),
        ("is_reserved", "reserved"),
    ):
        if getattr(ip, attr):
            return f"a {name} address"
    if not ip.is_global:
        return "not a public address"
    return None


class AddressGuard:
    """Lets only http(s) URLs whose host resolves to public addresses through, unless the host is allow-listed."""

    def __init__(self, allow_hosts: list[str] | None = None):
        self.allow_hosts = {h.strip().lower().strip("[]") for h in (allow_hosts or []) if h.strip()}
        self._allowed: set[Address] | None = None

    def allowed_addresses(self) -> set[Address]:
        """The addresses the allow-list names, its host names resolved (once), so `localhost` matches an entry `127.0.0.1`."""
        if self._allowed is None:
            found: set[Address] = set()
            for entry in self.allow_hosts:
                ip = _address(entry)
                if ip is None:
                    try:
                        found.update(a for info in socket.getaddrinfo(entry, None, type=socket.SOCK_STREAM) if (a := _address(str(info[4][0]))))
                    except (socket.gaierror, UnicodeError):
                        continue  # a name that doesn't resolve allows nothing more than itself
                else:
                    found.add(ip)
            self._allowed = found
        return self._allowed

    def check(self, url: str) -> str | None:
        """The address to connect to, None if the host is allow-listed by name.

        An allow-listed address among the host's addresses is pinned; otherwise every
        resolved address must be public, and the first is pinned.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise Refused(url, f"refused: only http and https URLs can be fetched (got {parts.scheme or 'no scheme'!r})")
        host = (parts.hostname or "").lower()
        if not host:
            raise Refused(url, "refused: the URL has no host")
        if host in self.allow_hosts:
            return None
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise Refused(url, "refused: invalid port") from None
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(url, f"can't resolve {host} ({exc})") from None
        resolved = [ip for info in infos if (ip := _address(str(info[4][0]))) is not None]
        if not resolved:
            raise FetchError(url, f"can't resolve {host}")
        allowed = self.allowed_addresses()
        for ip in resolved:
            if ip in allowed:
                return str(ip)
        for ip in resolved:
            kind = _refusal(ip)
            if kind:
                named = f"{host} is {kind}" if _address(host) == ip else f"{host} resolves to {ip}, {kind}"
                raise Refused(url, f"refused: {named} (allow it with QA_FETCH_ALLOW_HOSTS)")
        return str(resolved[0])


class _Deadline:
    """The end of one fetch: past it, the connections this fetch opened or reads from are cut.

    A timeout bounds each read, not a whole response: a server sending one byte at a time
    would hold a fetch open for ever. Cutting the socket wakes a read that is waiting.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._streams: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        return self.at - time.monotonic()

    def trace(self, event: str, info: dict) -> None:
        """httpcore's trace hook: a connection opened for this fetch (TCP, then TLS) is watched from the start."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            self.watch(info.get("return_value"))

    def watch(self, stream) -> None:
        if stream is None:
            return
        with self._lock:
            self._streams.append(stream)
            expired = self.expired
        if expired:
            _shut(stream)

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            streams = list(self._streams)
        for stream in streams:
            _shut(stream)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(stream) -> None:
    try:
        stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
    except (AttributeError, OSError):
        pass  # already closed


class Fetcher:
    """One HTTP client for feeds and pages: timeouts, retries with backoff, a minimum delay per host, a size limit, an overall deadline."""

    def __init__(
        self,
        *,
        timeout_s: float = 20.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        host_delay_s: float = 1.0,
        max_bytes: int = 20_000_000,
        deadline_s: float | None = None,
        guard: AddressGuard | None = None,
        stop: threading.Event | None = None,
    ):
        self.timeout_s = timeout_s
        self.deadline_s = deadline_s  # one fetch, retries and redirects included; None: no limit
        self.retries = retries
        self.backoff_s = backoff_s
        self.host_delay_s = host_delay_s
        self.max_bytes = max_bytes
        self.guard = guard
        self.stop = stop or threading.Event()
        self.requests = 0  # sent, retries and redirects included
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False, headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _wait(self, seconds: float, url: str, deadline: _Deadline | None) -> None:
        if deadline is not None and seconds >= deadline.left():
            raise self._overdue(url, deadline)
        if seconds > 0 and self.stop.wait(seconds):
            raise Stopped()

    @staticmethod
    def _overdue(url: str, deadline: _Deadline) -> TooSlow:
        return TooSlow(url, f"took longer than {deadline.seconds:g} s (QA_FETCH_DEADLINE_S)")

    def _pace(self, url: str, deadline: _Deadline | None) -> None:
        """Wait until this host's minimum delay since its previous request has passed."""
        host = urlsplit(url).netloc.lower()
        while True:
            with self._lock:
                now = time.monotonic()
                due = self._last.get(host, -1e9) + self.host_delay_s
                if now >= due:
                    self._last[host] = now
                    return
            self._wait(due - now, url, deadline)

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """GET with redirects (each hop checked by the guard), conditional headers and retries."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = _Deadline(self.deadline_s) if self.deadline_s is not None else None
        try:
            current = url
            for _ in range(MAX_REDIRECTS + 1):
                result = self._get_retrying(current, headers, deadline)
                if isinstance(result, Fetched):
                    return result
                current = result  # a redirect
            raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")
        finally:
            if deadline is not None:
                deadline.cancel()

    def _get_retrying(self, url: str, headers: dict[str, str], deadline: _Deadline | None) -> Fetched | str:
        attempt = 0
        while True:
            if self.stop.is_set():
                raise Stopped()
            try:
                return self._get_once(url, headers, deadline)
            except _Retryable as exc:
                if deadline is not None and deadline.expired:
                    raise self._overdue(url, deadline) from None
                if attempt >= self.retries:
                    raise FetchError(url, exc.reason) from None
                delay = self.backoff_s * 2**attempt
                if exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, MAX_RETRY_AFTER_S))
                attempt += 1
                self._wait(delay, url, deadline)

    def _get_once(self, url: str, headers: dict[str, str], deadline: _Deadline | None) -> Fetched | str:
        if has_credentials(url):  # given, or a redirect's Location: named without them, never sent
            raise Refused(without_credentials(url), f"refused: {CREDENTIALS_REFUSED}")
        pinned = self.guard.check(url) if self.guard else None
        request_url = httpx.URL(url)
        extensions: dict = {}
        if deadline is not None:
            if deadline.left() <= 0:
                raise self._overdue(url, deadline)
            extensions["trace"] = deadline.trace
            extensions["timeout"] = httpx.Timeout(min(self.timeout_s, deadline.left())).as_dict()
        send_headers = dict(headers)
        if pinned is not None:
            # Connect to the address just checked, not to whatever a second lookup returns.
            send_headers["Host"] = request_url.netloc.decode("ascii")
            if request_url.scheme == "https":
                extensions["sni_hostname"] = request_url.host
            request_url = request_url.copy_with(host=pinned)
        self._pace(url, deadline)
        self.requests += 1
        try:
            request = self._client.build_request("GET", request_url, headers=send_headers, extensions=extensions)
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise _Retryable("timeout") from None
        except httpx.TransportError as exc:
            raise _Retryable(_transport_reason(exc)) from None
        if deadline is not None:
            # A connection kept from an earlier fetch was not opened under this deadline's watch.
            deadline.watch(response.extensions.get("network_stream"))
        try:
            status = response.status_code
            if status in REDIRECTS and response.headers.get("location"):
                return urljoin(url, response.headers["location"])
            if status in RETRY_STATUSES:
                raise _Retryable(f"HTTP {status}", _retry_after(response.headers.get("retry-after")))
            if status == 304:
                return Fetched(url, 304, b"", "", response.headers.get("etag"), response.headers.get("last-modified"))
            if status != 200:
                raise FetchError(url, f"HTTP {status}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(url, f"larger than {self.max_bytes} bytes")
            body = bytearray()
            try:
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise FetchError(url, f"larger than {self.max_bytes} bytes")
            except httpx.TimeoutException:
                raise _Retryable("timeout") from None
            except httpx.TransportError as exc:
                raise _Retryable(_transport_reason(exc)) from None
            if deadline is not None and deadline.expired:
                # A cut connection may read as a body that simply ended: it is not a whole page.
                raise self._overdue(url, deadline)
            ctype = response.headers.get("content-type", "")
            charset = re.search(r"charset=[\"']?([\w.:-]+)", ctype, re.I)
            return Fetched(
                url,
                200,
                bytes(body),
                ctype.split(";")[0].strip().lower(),
                response.headers.get("etag"),
                response.headers.get("last-modified"),
                charset.group(1).lower() if charset else None,
            )
        finally:
            response.close()


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _transport_reason(exc: httpx.TransportError) -> str:
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    if isinstance(exc, httpx.ConnectError):
        return f"can't connect ({text})" if text else "can't connect"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
