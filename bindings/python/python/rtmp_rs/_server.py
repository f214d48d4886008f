"""``Server``: the RTMP server, its event pump and the sync/async faces."""

from __future__ import annotations

import asyncio
import atexit
import functools
import inspect
import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Literal, Sequence

from . import _native
from ._handler import Accept, Handler, Reject, _urls
from ._native import (
    InvalidStateError,
    LocalPublisher,
    NativeServer,
    Request,
    ServerStats,
    StreamInfo,
    StreamKey,
    Subscription,
    UrlError,
)

logger = logging.getLogger("rtmp_rs")

_HOOKS: Sequence[str] = tuple(_native.hook_names())
_DECISIONS = frozenset({"on_connection", "on_connect", "on_publish", "on_play", "on_locate", "on_credentials"})


def _overridden(handler: Handler, name: str) -> bool:
    implementation = getattr(type(handler), name, None)
    base = getattr(Handler, name)
    if implementation is None:
        # Not a Handler subclass: any callable attribute of that name counts.
        return callable(getattr(handler, name, None))
    return implementation is not base


class Server:
    """An RTMP (and optionally RTMPS) server.

    Every field of the Rust ``ServerConfig`` is a keyword argument (durations in seconds).
    The listener is bound when the server is made (``bind="127.0.0.1:0"`` picks a free port;
    ``local_addr`` tells which).

    Run it inside an asyncio application with ``await server.serve()`` or
    ``async with server:``; from a script with ``server.run()`` (blocks; Ctrl-C or SIGTERM stop
    it cleanly) or ``server.start()`` … ``server.stop()`` (serves on a thread of its own).
    Hooks run on the event loop that serves: the application's (``serve``) or the server
    thread's (``start``/``run``), but for plain ``def`` decision hooks (``on_connection``,
    ``on_connect``, ``on_publish``, ``on_play``), which run on a thread pool so that one that
    blocks does not hold up the others, and ``on_media_tag``, which runs on a thread of its own.
    ``on_locate`` is a decision hook too (it names the upstreams of a stream played here but
    not published), and so is ``on_credentials`` (a user's password, with
    ``publish_auth="adobe"``).
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        bind: str = "0.0.0.0:1935",
        max_connections: int = 10000,
        chunk_size: int = 4096,
        connection_timeout: float = 10.0,
        idle_timeout: float = 60.0,
        window_ack_size: int = 2500000,
        peer_bandwidth: int = 2500000,
        max_message_size: int = 8388608,
        max_chunk_streams: int = 64,
        max_streams_per_connection: int = 8,
        max_amf_depth: int = 64,
        max_amf_entries: int = 65536,
        max_amf_decoded_bytes: int = 67108864,
        player_queue_length: int = 512,
        player_stall_timeout: float = 10.0,
        player_latency_budget: float | None = 2.0,
        socket_send_buffer: int | None = None,
        gop_cache_max_bytes: int = 16777216,
        gop_cache_max_duration: float = 10.0,
        publisher_policy: str = "reject_new",
        publisher_reconnect_grace: float = 10.0,
        forward: Sequence[str] = (),
        forward_max_backoff: float = 30.0,
        pull: Sequence[str] = (),
        pull_idle_timeout: float = 10.0,
        pull_start_timeout: float = 5.0,
        relay_tls_roots: Sequence[str] = (),
        play_wait_timeout: float | None = 30.0,
        normalize_timestamps: bool = False,
        enhanced_rtmp: bool = True,
        fourcc_list: Sequence[str] | None = None,
        caps_ex: int = 14,
        stats_interval: float | None = 10.0,
        write_coalescing: float | None = None,
        read_coalescing: float | None = None,
        max_players_per_stream: int | None = None,
        publish_auth: Literal["none", "adobe"] = "none",
        auth_max_pending: int = 1024,
        auth_challenge_lifetime: float = 30.0,
        tls_bind: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        worker_threads: int = 2,
        decision_timeout: float = 10.0,
        max_pending_frames: int = 10000,
        media_tag_timeout: float = 1.0,
        hook_threads: int = 40,
    ) -> None:
        """Binds. ``fourcc_list=None`` announces every codec the library parses;
        ``play_wait_timeout=None`` lets players wait forever for a stream;
        ``publisher_reconnect_grace`` (seconds; 0 turns it off) is how long the players of a
        publisher that vanished without unpublishing wait for a republish, which they then play on
        without a notice; ``forward`` lists ``[APP=]URL`` rules every publish is forwarded to
        (``{app}``, ``{name}`` and ``{query}`` substituted; a lost destination is retried with
        backoff up to ``forward_max_backoff`` seconds); ``pull`` lists ``[APP=]URL`` upstreams a
        stream that is not published here is pulled from while played (in order, failover),
        ``pull_idle_timeout`` after its last player it stops, and an upstream that sends no media
        within ``pull_start_timeout`` gives way to the next; ``relay_tls_roots`` lists PEM files
        of certificate authorities that ``rtmps://`` forwards and pulls trust beside the web PKI
        roots (an origin with a private CA; a file that cannot be read or holds no certificate
        fails the bind);
        ``stats_interval=None`` turns ``on_stats`` off; ``write_coalescing`` (seconds) holds
        each player's output that long to write it at once (less CPU, more latency);
        ``read_coalescing`` (seconds) reads each publisher at most that often once its socket is
        empty, many messages a read (less CPU, more latency from encoder to players and hooks);
        ``publish_auth="adobe"`` makes publishing take a user name and password (Adobe's
        ``authmod=adobe`` challenge, as ffmpeg and OBS answer it for
        ``rtmp://user:password@host/app/key``; passwords from ``on_credentials``; a publish
        from a connection that did not log in is refused; players connect freely), with at most
        ``auth_max_pending`` challenges waiting, each ``auth_challenge_lifetime`` seconds;
        ``tls_bind``/``tls_cert``/``tls_key``
        (PEM files) add an RTMPS listener; ``max_amf_depth``, ``max_amf_entries`` and
        ``max_amf_decoded_bytes`` bound what one received command or data message may decode to
        (nesting, entries per object or array, bytes including the copies AMF3 references make;
        a message past them closes its connection); ``decision_timeout`` rejects decisions that take
        longer; ``max_pending_frames`` caps the frame events waiting for a slow handler
        (beyond it they are dropped and counted in ``dropped_events``); ``media_tag_timeout`` is
        how long a connection waits for ``on_media_tag`` before the message passes;
        ``hook_threads`` is the size of the pool that runs plain ``def`` decision hooks (async
        ones run on the loop). Every option is checked by the library's option schema (the
        README's option reference): a value of the wrong type raises ``TypeError``, one out of
        range ``ValueError``, both naming the option."""
        # Every keyword argument, checked (names, types, ranges) by the Rust option schema.
        self._options: dict[str, Any] = {
            name: value for name, value in locals().items() if name not in ("self", "handler")
        }
        self._handler = handler if handler is not None else Handler()
        self._decision_timeout = decision_timeout
        self._hook_threads = hook_threads
        self._executor: ThreadPoolExecutor | None = None
        self._hooks = [name for name in _HOOKS if _overridden(self._handler, name)]
        # Plain (not async) decision hooks run on a thread pool, so that one that blocks (a
        # database call) does not hold up the others; decided once, here.
        self._threaded = frozenset(
            name for name in _DECISIONS & set(self._hooks) if not _is_async(getattr(self._handler, name))
        )
        self._media_filter_warned = False
        self._native: NativeServer | None = None
        self._local_addr = ""
        self._tls_local_addr: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._serving = False
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._sigterm = False
        self._bind()

    # ----------------------------------------------------------------- properties

    @property
    def handler(self) -> Handler:
        """The handler whose hooks run."""
        return self._handler

    @property
    def local_addr(self) -> str:
        """The bound RTMP address, ``"ip:port"`` (the real port when bound to port 0)."""
        return self._local_addr

    @property
    def tls_local_addr(self) -> str | None:
        """The bound RTMPS address, when TLS is configured."""
        return self._tls_local_addr

    @property
    def port(self) -> int:
        """The bound RTMP port."""
        return int(self._local_addr.rsplit(":", 1)[1])

    @property
    def url(self) -> str:
        """``rtmp://host:port`` to reach the server from this machine."""
        host = self._local_addr.rsplit(":", 1)[0]
        if host == "0.0.0.0":
            host = "127.0.0.1"
        elif host == "[::]":
            host = "[::1]"
        return f"rtmp://{host}:{self.port}"

    @property
    def is_serving(self) -> bool:
        """Whether it serves now."""
        return self._serving

    @property
    def dropped_events(self) -> int:
        """Frame events dropped because the handler did not keep up (see ``max_pending_frames``)."""
        return self._native.dropped_events if self._native is not None else 0

    def stats(self) -> ServerStats:
        """A statistics snapshot (connections, bytes, streams, players)."""
        if self._native is None:
            raise InvalidStateError("the server is closed")
        return self._native.stats()

    def streams(self) -> list[StreamInfo]:
        """The live streams, sorted by key: who publishes each (``publisher_kind``, ``"rtmp"`` or
        ``"local"``), its codecs, its network players and its local subscribers."""
        if self._native is None:
            raise InvalidStateError("the server is closed")
        return self._native.streams()

    # ----------------------------------------------------------------- streams in-process

    def subscribe(
        self,
        key: str,
        *,
        start: Literal["gop", "keyframe", "live"] = "gop",
        wait: float | None = None,
        latency_budget: float | None = None,
    ) -> Subscription:
        """Reads the stream ``key`` (``"app/name"``) in-process, as a player of kind local.

        ``start``: ``"gop"`` (metadata, sequence headers, the cached GOP from its keyframe, then
        live: what a network player that joins late gets), ``"keyframe"`` (headers, then live
        from the next keyframe) or ``"live"`` (headers, then whatever comes next). ``wait``:
        seconds to wait for a stream that is not published yet (None: ``StreamNotFoundError`` at
        once; ``math.inf``: until it is published; a server that stops ends the wait with
        ``ClosedError``). ``latency_budget``: how far behind live the reader may fall before its video is
        dropped (None: the server's ``player_latency_budget``).

        Blocks while it waits, without the GIL; in asyncio code use ``subscribe_async``. The
        server must be serving (``InvalidStateError`` otherwise)."""
        native = self._running_native()
        if wait and self._loop is not None and _running_loop() is self._loop:
            raise InvalidStateError(
                "subscribe(wait=...) would block the loop that runs the server's hooks: "
                "use await server.subscribe_async(...)"
            )
        return native.subscribe(key, start=start, wait=wait, latency_budget=latency_budget)

    async def subscribe_async(
        self,
        key: str,
        *,
        start: Literal["gop", "keyframe", "live"] = "gop",
        wait: float | None = None,
        latency_budget: float | None = None,
    ) -> Subscription:
        """``subscribe()`` for asyncio code: waits for the stream without blocking the loop."""
        native = self._running_native()
        subscription: Subscription = await native.subscribe_async(
            key, start=start, wait=wait, latency_budget=latency_budget
        )
        return subscription

    def publish(self, key: str) -> LocalPublisher:
        """Publishes the stream ``key`` (``"app/name"``) in-process. Network players, late joiners
        and subscriptions see it as an RTMP publisher. When someone publishes it already,
        ``publisher_policy`` decides: ``"reject_new"`` raises ``RejectedError``, ``"take_over"``
        takes it (and a later RTMP publisher takes it from this one, whose next send raises
        ``ClosedError``). The server must be serving (``InvalidStateError`` otherwise)."""
        return self._running_native().publish(key)

    # ----------------------------------------------------------------- relays

    def add_forward(self, key: str | StreamKey, url: str) -> None:
        """Forwards the live stream ``key`` (``"app/name"`` or a ``StreamKey``) to ``url``
        (``rtmp://`` or ``rtmps://``) too, until it unpublishes or ``remove_forward``. The
        forward is a connection of its own: it reconnects with backoff, shows in
        ``StreamStats.forwards`` and raises ``on_forward`` on each state change.

        Raises ``UrlError`` for a URL that is not RTMP or RTMPS, ``StreamNotFoundError`` when
        nobody publishes ``key``, ``ForwardExistsError`` when it is forwarded to ``url``
        already, ``InvalidStateError`` when the server is not serving."""
        self._running_native().add_forward(key, url)

    def remove_forward(self, key: str | StreamKey, url: str) -> bool:
        """Stops forwarding ``key`` to ``url`` (whatever added it: a rule, the publish decision,
        ``add_forward``); whether it was forwarded there."""
        if self._native is None:
            raise InvalidStateError("the server is closed")
        return self._native.remove_forward(key, url)

    def _running_native(self) -> NativeServer:
        native = self._native
        if native is None or not self._serving or not native.is_running:
            raise InvalidStateError(
                "the server is not serving: start it (serve(), start(), run(), with/async with) first"
            )
        return native

    def __repr__(self) -> str:
        state = "serving" if self._serving else "stopped"
        return f"<rtmp_rs.Server {self._local_addr} {state}>"

    # ----------------------------------------------------------------- asyncio

    async def serve(self) -> None:
        """Serves until ``close()`` is called or the task is cancelled, then stops gracefully:
        pending decisions are rejected, every connection gets its last events
        (``on_unpublish``, ``on_play_stop``, ``on_disconnect``), running async hooks finish."""
        if self._serving:
            raise InvalidStateError("the server is already serving")
        native = self._bind()
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stop_requested = loop.create_future()
        if self._sigterm:
            self._stop_requested.set_result(None)
        self._serving = True
        native.start()
        pump = loop.create_task(self._pump(native))
        self._started.set()
        try:
            await asyncio.shield(self._stop_requested)
        finally:
            try:
                await native.stop_async()
            finally:
                native.close_events()
                await pump
                await self._finish_tasks()
                if self._executor is not None:
                    self._executor.shutdown(wait=False, cancel_futures=True)
                    self._executor = None
                native.close()
                self._native = None
                self._serving = False
                self._started.clear()
                self._loop = None

    def close(self) -> None:
        """Asks the server to stop; returns at once (any thread, hooks included). ``serve()``
        returns, and ``run()``/``stop()`` finish, once it stopped."""
        loop, requested = self._loop, self._stop_requested
        if loop is None or requested is None:
            return

        def request() -> None:
            if not requested.done():
                requested.set_result(None)

        try:
            if _running_loop() is loop:
                request()
            else:
                loop.call_soon_threadsafe(request)
        except RuntimeError:
            pass  # the loop is closed: the server is stopped

    async def __aenter__(self) -> Server:
        self._serve_task = asyncio.get_running_loop().create_task(self.serve())
        while not self._started.is_set():
            if self._serve_task.done():
                self._serve_task.result()
            await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        task, self._serve_task = self._serve_task, None
        if task is not None:
            await task

    # ----------------------------------------------------------------- blocking

    def run(self) -> None:
        """Serves in the calling thread until Ctrl-C or SIGTERM, then stops gracefully."""
        main = threading.current_thread() is threading.main_thread()
        self._sigterm = False
        previous = signal.signal(signal.SIGTERM, self._on_sigterm) if main else None
        try:
            asyncio.run(self.serve())
        except KeyboardInterrupt:
            pass
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)

    def _on_sigterm(self, _signum: int, _frame: object) -> None:
        # A signal handler: it may run before serve() made its loop, or inside the loop's own
        # code. Record it for serve(), and wake the loop through its thread-safe entry.
        self._sigterm = True
        loop, requested = self._loop, self._stop_requested
        if loop is not None and requested is not None:

            def request() -> None:
                if not requested.done():
                    requested.set_result(None)

            loop.call_soon_threadsafe(request)

    def start(self) -> None:
        """Serves on a thread of its own (its hooks run there); returns once it listens."""
        if self._thread is not None or self._serving:
            raise InvalidStateError("the server is already serving")
        self._thread_error = None
        self._started.clear()
        thread = threading.Thread(target=self._thread_main, name="rtmp-rs-server", daemon=True)
        self._thread = thread
        thread.start()
        atexit.register(self.stop)  # a script that exits without stop() still stops cleanly
        while not self._started.wait(0.05):
            if not thread.is_alive():
                break
        if self._thread_error is not None:
            self._thread = None
            thread.join()
            atexit.unregister(self.stop)
            raise self._thread_error

    def _thread_main(self) -> None:
        try:
            asyncio.run(self.serve())
        except BaseException as error:  # noqa: BLE001 - handed to start()
            self._thread_error = error
            if self._started.is_set():
                logger.exception("the server thread failed")

    def stop(self) -> None:
        """Stops gracefully and waits. From a hook (or the serving loop's thread) it only asks
        for the stop, like ``close()``."""
        self.close()
        thread = self._thread
        if getattr(_hook_thread, "active", False):
            return  # a plain decision hook on the pool: the server waits for it, it cannot wait
        if thread is not None and thread is not threading.current_thread():
            thread.join()
            self._thread = None
            atexit.unregister(self.stop)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- plumbing

    def _bind(self) -> NativeServer:
        if self._native is None:
            from . import sync_log_level

            sync_log_level()
            media_filter = self._media_filter if "on_media_tag" in self._hooks else None
            self._native = NativeServer(self._hooks, media_filter, self._options)
            self._local_addr = self._native.local_addr
            self._tls_local_addr = self._native.tls_local_addr
        return self._native

    async def _pump(self, native: NativeServer) -> None:
        while True:
            batch = await native.next_events()
            if batch is None:
                return
            for event in batch:
                try:
                    self._dispatch(event)
                except Exception:  # noqa: BLE001 - a hook never kills the server
                    logger.exception("rtmp_rs: dispatching %s failed", event[0])

    def _dispatch(self, event: tuple[Any, ...]) -> None:
        name: str = event[0]
        request: Request | None = event[1]
        args = event[2:]
        hook: Callable[..., Any] = getattr(self._handler, name)
        if request is not None:
            self._decide(name, hook, request, args)
            return
        try:
            result = hook(*args)
        except Exception:  # noqa: BLE001
            logger.exception("rtmp_rs: hook %s raised", name)
            return
        if inspect.isawaitable(result):
            self._spawn(self._notification(name, result))

    def _decide(self, name: str, hook: Callable[..., Any], request: Request, args: Sequence[Any]) -> None:
        if name in self._threaded:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._hook_threads, thread_name_prefix="rtmp-rs-hook")
            call = asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(_in_pool, hook, *args))
            self._spawn(self._async_decision(name, call, request))
            return
        try:
            result = hook(*args)
        except Reject as reject:
            request.reject(reject.reason)
            return
        except Exception:  # noqa: BLE001
            logger.exception("rtmp_rs: hook %s raised; %s", name, _failed(name))
            request.reject("Internal error.")
            return
        if inspect.isawaitable(result):
            self._spawn(self._async_decision(name, result, request))
        else:
            _answer(name, request, result)

    async def _async_decision(self, name: str, result: Awaitable[Any], request: Request) -> None:
        try:
            value = await result
            if inspect.isawaitable(value):  # a plain def that returned an awaitable
                value = await value
        except Reject as reject:
            request.reject(reject.reason)
        except Exception:  # noqa: BLE001
            logger.exception("rtmp_rs: hook %s raised; %s", name, _failed(name))
            request.reject("Internal error.")
        except asyncio.CancelledError:
            request.reject("Server shutting down.")
            raise
        else:
            _answer(name, request, value)

    async def _notification(self, name: str, result: Awaitable[Any]) -> None:
        try:
            await result
        except Exception:  # noqa: BLE001
            logger.exception("rtmp_rs: hook %s raised", name)

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish_tasks(self) -> None:
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=self._decision_timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    def _media_filter(self, session: Any, frame: Any) -> bool:
        try:
            result = self._handler.on_media_tag(session, frame)
        except Exception:  # noqa: BLE001 - a failing filter keeps the message (the event policy)
            logger.exception("rtmp_rs: hook on_media_tag raised; keeping the message")
            return True
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            if not self._media_filter_warned:
                self._media_filter_warned = True
                logger.error("rtmp_rs: on_media_tag must be a plain def (it was async): ignored")
            return True
        return result is None or bool(result)


_hook_thread = threading.local()


def _in_pool(hook: Callable[..., Any], *args: Any) -> Any:
    """Runs a plain decision hook on the pool, marked so that ``stop()`` there only asks."""
    _hook_thread.active = True
    try:
        return hook(*args)
    finally:
        _hook_thread.active = False


def _is_async(hook: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(getattr(hook, "__call__", None))


def _failed(name: str) -> str:
    """What a decision hook that raised means, for the log."""
    if name == "on_locate":
        return "no upstream from it (the pull rules apply)"
    if name == "on_credentials":
        return "no such user"
    return "rejecting"


def _answer(name: str, request: Request, value: Any) -> None:
    """True or None accept; ``Accept(...)`` accepts with the stream's own settings; False (any
    falsy value) rejects. ``on_locate``: a list of URLs, or None (the pull rules).
    ``on_credentials``: the password (str), or None (no such user)."""
    if name == "on_credentials":
        if value is not None and not isinstance(value, str):
            logger.error(
                "rtmp_rs: on_credentials must return the password (str) or None, not %s; no such user",
                type(value).__name__,
            )
            value = None
        request.credentials(value)
    elif name == "on_locate":
        if value is None:
            request.locate([])
            return
        try:
            urls = list(_urls("on_locate", value))
        except TypeError:
            logger.exception("rtmp_rs: on_locate must return a list of URLs or None; no upstream from it")
            request.reject("Internal error.")
            return
        try:
            request.locate(urls)
        except UrlError as error:
            logger.error("rtmp_rs: on_locate returned %s; no upstream from it", error)
            request.reject("Internal error.")
    elif isinstance(value, Accept):
        if value.forward and request.kind == "publish":
            try:
                request.accept_with_forward(list(value.forward))
            except UrlError as error:
                logger.error("rtmp_rs: on_publish's Accept(forward=...): %s; rejecting", error)
                request.reject("Internal error.")
        elif value.has_latency_budget:
            request.accept_with_latency_budget(value.latency_budget)
        else:
            request.accept()
    elif value is None or value:
        request.accept()
    else:
        request.reject("Rejected.")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
