"""HTTP downloads with retries, integrity checks and a content cache keyed by URL.

:class:`ContentCache` keeps one file per URL under ``{cache}/files/`` (named by the SHA-256 of the URL) with
a JSON sidecar holding the URL, the file's SHA-256 and size, the retrieval date and the ETag. An entry
exists only when both are present and the file matches the sidecar: a download is written to
``{cache}/tmp/``, checked (length against ``Content-Length``, gzip stream, JSON syntax, or any check the
caller gives) and only then moved into place with :func:`os.replace`, the sidecar last. The cache therefore
never holds a partial file; an interrupted run leaves only what was complete, and the next run downloads
only what is missing.

:class:`HttpClient` wraps :class:`httpx.Client` with timeouts, retries with exponential backoff and full
jitter on 429, 5xx, timeouts, connection errors and truncated bodies (honouring ``Retry-After``), and
HTTP Range resumption of large downloads (the partial bytes live in ``{cache}/partial/``, outside the
cache entries, and are validated with ``If-Range``). ``file://`` URLs are read in place (a local copy of a
service needs no cache).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import gzip
import hashlib
import json
import logging
import os
import random
import tempfile
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tqdm.auto import tqdm

from foncier.errors import FetchError
from foncier.layers.fetch.settings import FetchSettings

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
"""HTTP statuses worth another attempt."""

_KNOWN_SUFFIXES = (".json.gz", ".geojson", ".json", ".gz", ".osm.pbf", ".pbf", ".tif", ".md5", ".csv")
_PROGRESS_MIN_BYTES = 4 * 1024 * 1024

Check = Callable[[Path], None]
"""A content check: raises (any exception) when the downloaded file is not what was expected."""


class ResourceNotFoundError(FetchError):
    """The service answered that the resource does not exist (404, 410, or the cadastre bundler's 400)."""

    code = "fetch_not_found"

    def __init__(self, url: str, status: int, detail: str = "") -> None:
        self.url = url
        self.status = status
        super().__init__(f"{url}: not found (HTTP {status}{': ' + detail if detail else ''})")


class OfflineMissingError(FetchError):
    """Offline mode: the resource is not in the cache."""

    code = "fetch_offline_missing"

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(f"{url}: not in the cache (offline)")


class _RetryableError(Exception):
    """A transient failure: another attempt may succeed."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class CacheEntry:
    """A complete, checked download.

    Attributes
    ----------
    url : str
        The requested URL (with its query), the cache key.
    path : Path
        The file (in the cache, or the local file of a ``file://`` URL).
    sha256 : str
        SHA-256 of the file.
    size : int
        Size in bytes.
    retrieved : str
        ISO datetime (UTC) of the download.
    final_url : str
        URL after redirects (e.g. ``latest`` resolved to a dated edition).
    etag, last_modified, content_type : str or None
        Response headers.
    from_cache : bool
        True when no request was made for this call.
    """

    url: str
    path: Path
    sha256: str
    size: int
    retrieved: str
    final_url: str = ""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    from_cache: bool = False

    def read_json(self) -> Any:
        """Parse the file as JSON (gzip-compressed or not)."""
        return _load_json(self.path)


@dataclass
class FetchStats:
    """Counters of one client (one fetch run)."""

    requests: int = 0
    downloads: int = 0
    cache_hits: int = 0
    retries: int = 0
    resumed: int = 0
    bytes_downloaded: int = 0
    not_found: int = 0
    failures: list[str] = field(default_factory=list)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _load_json(path: Path) -> Any:
    if _is_gzip(path):
        with gzip.open(path, "rb") as gz:
            return json.load(gz)
    with path.open("rb") as fh:
        return json.load(fh)


def check_json(path: Path) -> None:
    """Content check: the file is a complete JSON document (gzip-compressed or not)."""
    try:
        _load_json(path)
    except (ValueError, EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"incomplete or malformed JSON ({exc})") from None


def check_gzip(path: Path) -> None:
    """Content check: a gzip file decompresses to its end (a truncated file does not); plain files pass."""
    if not _is_gzip(path):
        return
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"truncated or corrupt gzip ({exc})") from None


def _url_suffix(url: str) -> str:
    path = urllib.parse.urlsplit(url).path.lower()
    for suffix in _KNOWN_SUFFIXES:
        if path.endswith(suffix):
            return suffix
    return ""


class ContentCache:
    """Files downloaded once, keyed by URL, each with a JSON sidecar (see the module docstring).

    Parameters
    ----------
    root : str or Path
        The cache folder (created when needed).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        self.files = self.root / "files"
        self.tmp = self.root / "tmp"
        self.partial = self.root / "partial"

    def __repr__(self) -> str:
        return f"ContentCache({str(self.root)!r})"

    @staticmethod
    def key(url: str) -> str:
        """Cache key of ``url``: the hex SHA-256 of the full URL."""
        return hashlib.sha256(url.encode("utf-8")).hexdigest()

    def path_for(self, url: str) -> Path:
        """Where the file of ``url`` lives in the cache (whether or not it is there)."""
        key = self.key(url)
        return self.files / key[:2] / f"{key}{_url_suffix(url)}"

    def _sidecar(self, path: Path) -> Path:
        return path.with_name(path.name + ".meta.json")

    def lookup(self, url: str, *, verify: bool = True) -> CacheEntry | None:
        """Return the complete entry of ``url``, or None (a damaged entry is removed).

        Parameters
        ----------
        verify : bool, default True
            Recompute the SHA-256 of the file and compare it with the sidecar.
        """
        path = self.path_for(url)
        sidecar = self._sidecar(path)
        if not path.is_file() or not sidecar.is_file():
            return None
        try:
            meta = json.loads(sidecar.read_text("utf-8"))
            ok = meta.get("url") == url and int(meta["size"]) == path.stat().st_size
            if ok and verify:
                ok = _sha256_file(path) == meta["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            logger.warning("cache entry of %s is damaged; it will be downloaded again", url)
            self.discard(url)
            return None
        return CacheEntry(
            url=url,
            path=path,
            sha256=str(meta["sha256"]),
            size=int(meta["size"]),
            retrieved=str(meta.get("retrieved", "")),
            final_url=str(meta.get("final_url") or url),
            etag=meta.get("etag"),
            last_modified=meta.get("last_modified"),
            content_type=meta.get("content_type"),
            from_cache=True,
        )

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and self.lookup(url, verify=False) is not None

    def clean_stale_temp(self, max_age_s: float = 600.0) -> int:
        """Remove temporary downloads left by a killed run (files of ``tmp/`` untouched for ``max_age_s``;
        a download in progress in another process keeps writing its file, so it is never that old).

        Returns
        -------
        int
            Files removed.
        """
        if not self.tmp.is_dir():
            return 0
        removed = 0
        now = time.time()
        for path in self.tmp.iterdir():
            with contextlib.suppress(OSError):
                if path.is_file() and now - path.stat().st_mtime > max_age_s:
                    path.unlink()
                    removed += 1
        if removed:
            logger.info("removed %d temporary download(s) left by an interrupted run in %s", removed, self.tmp)
        return removed

    def temp_file(self, url: str) -> Path:
        """A fresh temporary file (same file system as the cache) for a download of ``url``."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=self.key(url)[:16] + "-", suffix=".part", dir=self.tmp)
        os.close(fd)
        return Path(name)

    def store(self, url: str, source: Path, **meta: Any) -> CacheEntry:
        """Move the complete file ``source`` into the cache as the entry of ``url`` (atomically).

        The data file is moved first, the sidecar written last (itself through a temporary file): until
        the sidecar is in place the entry does not exist.
        """
        path = self.path_for(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        sidecar = self._sidecar(path)
        with contextlib.suppress(FileNotFoundError):
            sidecar.unlink()
        sha = meta.pop("sha256", None) or _sha256_file(source)
        size = source.stat().st_size
        os.replace(source, path)
        entry = CacheEntry(
            url=url,
            path=path,
            sha256=sha,
            size=size,
            retrieved=meta.pop("retrieved", None) or _now(),
            final_url=meta.pop("final_url", None) or url,
            etag=meta.pop("etag", None),
            last_modified=meta.pop("last_modified", None),
            content_type=meta.pop("content_type", None),
        )
        record = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(entry).items() if k != "from_cache"}
        record.pop("path")
        fd, tmp_name = tempfile.mkstemp(prefix=".meta-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(record, fh, indent=1)
            os.replace(tmp_name, sidecar)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
        return entry

    def discard(self, url: str) -> None:
        """Remove the entry of ``url`` (sidecar first)."""
        path = self.path_for(url)
        for p in (self._sidecar(path), path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def entries(self) -> Iterator[CacheEntry]:
        """Every complete entry (unverified)."""
        if not self.files.is_dir():
            return
        for sidecar in sorted(self.files.glob("*/*.meta.json")):
            try:
                url = json.loads(sidecar.read_text("utf-8"))["url"]
            except (OSError, ValueError, KeyError):
                continue
            entry = self.lookup(url, verify=False)
            if entry is not None:
                yield entry

    # ------------------------------------------------------------------ partial downloads (Range resume)
    def partial_paths(self, url: str) -> tuple[Path, Path]:
        """The resumable partial file of ``url`` and its JSON note (validator, expected size)."""
        key = self.key(url)
        return self.partial / key, self.partial / f"{key}.json"

    def drop_partial(self, url: str) -> None:
        """Forget the partial download of ``url``."""
        for p in self.partial_paths(url):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def _retry_after(value: str | None, limit: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), capped at ``limit``."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return max(0.0, min(seconds, limit))


def build_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """``url`` with ``params`` appended to its query, in the given order (the cache key)."""
    if not params:
        return url
    clean = {k: v for k, v in params.items() if v is not None}
    return str(httpx.URL(url).copy_merge_params(clean))


def _local_path(url: str) -> Path:
    parsed = urllib.parse.urlsplit(url)
    return Path(urllib.request.url2pathname(parsed.path))


class HttpClient:
    """Cached, retrying downloads (see the module docstring).

    Parameters
    ----------
    settings : FetchSettings
        Timeouts, retries, backoff, user agent.
    cache : ContentCache, optional
        Default: a cache in ``settings.cache_path``.
    offline : bool, default False
        Only use the cache; a missing URL raises :class:`OfflineMissingError`.
    progress : bool, default False
        Show a byte progress bar for large downloads.
    sleep : callable, optional
        Used to wait between attempts (tests may record the waits).

    Examples
    --------
    >>> with HttpClient(FetchSettings()) as client:  # doctest: +SKIP
    ...     entry = client.fetch("https://geo.api.gouv.fr/epcis/240200477/communes", {"format": "geojson"})
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        cache: ContentCache | None = None,
        offline: bool = False,
        progress: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.cache = cache or ContentCache(settings.cache_path)
        self.offline = offline
        self.progress = progress
        self.stats = FetchStats()
        self._sleep = sleep
        self._client: httpx.Client | None = None
        self._transport = transport
        self.cache.clean_stale_temp()

    # ------------------------------------------------------------------ lifecycle
    @property
    def client(self) -> httpx.Client:
        """The underlying :class:`httpx.Client` (created on first use)."""
        if self._client is None:
            s = self.settings
            self._client = httpx.Client(
                timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
                follow_redirects=True,
                headers={"User-Agent": s.user_agent, "Accept-Encoding": "gzip"},
                transport=self._transport,
            )
        return self._client

    def close(self) -> None:
        """Close the connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ public
    def cached(self, url: str, params: Mapping[str, Any] | None = None) -> CacheEntry | None:
        """The cache entry of ``url`` + ``params`` without any request, or None."""
        return self.cache.lookup(build_url(url, params), verify=False)

    def fetch(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        check: Check | None = None,
    ) -> CacheEntry:
        """Return the file of ``url`` + ``params``, from the cache or downloaded (then cached).

        Parameters
        ----------
        url : str
            http(s):// or file:// URL.
        params : mapping, optional
            Query parameters, appended in order (they are part of the cache key).
        check : callable, optional
            Content check run on the complete download before it enters the cache; when it raises, the
            download counts as failed (and is retried).

        Raises
        ------
        ResourceNotFoundError
            404/410 (and the Etalab bundler's 400 "Le fichier n'existe pas"): not retried, not cached.
        OfflineMissingError
            Offline and not cached.
        foncier.errors.FetchError
            Any other failure, after the retries.
        """
        full = build_url(url, params)
        if full.startswith("file://"):
            return self._local(full, check)
        entry = self.cache.lookup(full)
        if entry is not None:
            self.stats.cache_hits += 1
            logger.debug("cache hit %s", full)
            return entry
        if self.offline:
            raise OfflineMissingError(full)
        s = self.settings
        last = ""
        for attempt in range(s.retries + 1):
            try:
                entry = self._download(full, check)
            except _RetryableError as exc:
                last = str(exc)
                if attempt >= s.retries:
                    break
                wait = exc.retry_after
                if wait is None:
                    wait = random.uniform(0.0, min(s.backoff_max, s.backoff_base * 2.0**attempt))
                self.stats.retries += 1
                logger.info("%s: %s; retry %d/%d in %.2f s", full, exc, attempt + 1, s.retries, wait)
                self._sleep(wait)
                continue
            except ResourceNotFoundError:
                self.stats.not_found += 1
                raise
            self.stats.downloads += 1
            return entry
        message = f"{full}: failed after {s.retries + 1} attempt(s): {last}"
        self.stats.failures.append(message)
        raise FetchError(message)

    def fetch_json(self, url: str, params: Mapping[str, Any] | None = None) -> tuple[Any, CacheEntry]:
        """:meth:`fetch` a JSON document (checked before caching) and parse it."""
        entry = self.fetch(url, params, check=check_json)
        try:
            return entry.read_json(), entry
        except (ValueError, OSError, EOFError) as exc:  # a file:// copy is not checked before use
            raise FetchError(f"{entry.url}: not valid JSON ({exc})") from None

    # ------------------------------------------------------------------ internals
    def _local(self, url: str, check: Check | None) -> CacheEntry:
        path = _local_path(url)
        if not path.is_file():
            self.stats.not_found += 1
            raise ResourceNotFoundError(url, 404, f"no file {path}")
        if check is not None:
            try:
                check(path)
            except Exception as exc:
                raise FetchError(f"{url}: {exc}") from None
        stat = path.stat()
        self.stats.cache_hits += 1
        return CacheEntry(
            url=url,
            path=path,
            sha256=_sha256_file(path),
            size=stat.st_size,
            retrieved=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).replace(microsecond=0).isoformat(),
            final_url=url,
            from_cache=True,
        )

    def _download(self, url: str, check: Check | None) -> CacheEntry:
        """One attempt. Raises _RetryableError for transient failures."""
        part, note = self.cache.partial_paths(url)
        headers: dict[str, str] = {}
        offset = 0
        if part.is_file() and note.is_file():
            try:
                validator = json.loads(note.read_text("utf-8"))["validator"]
                offset = part.stat().st_size
                headers = {"Range": f"bytes={offset}-", "If-Range": validator, "Accept-Encoding": "identity"}
            except (OSError, ValueError, KeyError):
                self.cache.drop_partial(url)
                offset = 0
        tmp: Path | None = None
        try:
            self.stats.requests += 1
            with self.client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status in (404, 410) or (status == 400 and "existe pas" in _peek(response)):
                    raise ResourceNotFoundError(url, status, _reason(response))
                if status == 416 and offset:
                    self.cache.drop_partial(url)
                    raise _RetryableError("range not satisfiable; restarting the download", retry_after=0.0)
                if status in RETRY_STATUSES:
                    raise _RetryableError(
                        f"HTTP {status}",
                        _retry_after(response.headers.get("Retry-After"), self.settings.retry_after_max),
                    )
                if status >= 400:
                    raise FetchError(f"{url}: HTTP {status} {_reason(response)}")
                resuming = status == 206 and offset > 0 and _range_start(response) == offset
                if offset and not resuming:
                    self.cache.drop_partial(url)
                    offset = 0
                resumable = self._resumable(response) if not resuming else True
                if resumable:
                    self.cache.partial.mkdir(parents=True, exist_ok=True)
                    if not resuming:
                        validator = response.headers.get("ETag") or response.headers.get("Last-Modified") or ""
                        note.write_text(json.dumps({"url": url, "validator": validator}), "utf-8")
                    target = part
                    mode = "ab" if resuming else "wb"
                else:
                    tmp = self.cache.temp_file(url)
                    target = tmp
                    mode = "wb"
                if resuming:
                    self.stats.resumed += 1
                    logger.info("%s: resuming at byte %d", url, offset)
                expected = _content_length(response)
                received = self._stream_to(response, target, mode, expected, offset)
                if expected is not None and response.num_bytes_downloaded != expected:
                    raise _RetryableError(
                        f"truncated body: received {response.num_bytes_downloaded} of {expected} bytes"
                    )
                self.stats.bytes_downloaded += received
                final_url = str(response.url)
                meta = {
                    "etag": response.headers.get("ETag"),
                    "last_modified": response.headers.get("Last-Modified"),
                    "content_type": response.headers.get("Content-Type"),
                    "final_url": final_url,
                }
            if resumable:
                tmp = self.cache.temp_file(url)
                os.replace(part, tmp)
                self.cache.drop_partial(url)
            assert tmp is not None
            if check is not None:
                try:
                    check(tmp)
                except Exception as exc:
                    raise _RetryableError(f"content check failed: {exc}") from None
            entry = self.cache.store(url, tmp, **meta)
            tmp = None
            return entry
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _RetryableError(f"{type(exc).__name__}: {exc or 'no detail'}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None
        finally:
            if tmp is not None:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

    def _resumable(self, response: httpx.Response) -> bool:
        length = _content_length(response)
        return (
            response.status_code == 200
            and response.headers.get("Accept-Ranges", "").lower() == "bytes"
            and bool(response.headers.get("ETag") or response.headers.get("Last-Modified"))
            and "Content-Encoding" not in response.headers
            and length is not None
            and length >= self.settings.resume_min_bytes
        )

    def _stream_to(self, response: httpx.Response, target: Path, mode: str, expected: int | None, offset: int) -> int:
        received = 0
        show = self.progress and expected is not None and expected >= _PROGRESS_MIN_BYTES
        name = urllib.parse.urlsplit(str(response.url)).path.rsplit("/", 1)[-1] or str(response.url)
        with (
            target.open(mode) as fh,
            tqdm(
                total=(expected or 0) + offset,
                initial=offset,
                unit="B",
                unit_scale=True,
                desc=name[:40],
                disable=not show,
                leave=False,
            ) as bar,
        ):
            for chunk in response.iter_bytes():
                fh.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
            fh.flush()
            os.fsync(fh.fileno())
        return received


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _range_start(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Range", "")
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _peek(response: httpx.Response) -> str:
    try:
        return response.read()[:500].decode("utf-8", "replace")
    except httpx.HTTPError:
        return ""


def _reason(response: httpx.Response) -> str:
    try:
        text = response.read()[:200].decode("utf-8", "replace").strip()
    except httpx.HTTPError:
        text = ""
    return text or response.reason_phrase
