"""rtmp_rs: an async RTMP/RTMPS server and client, in Rust.

Serve::

    import rtmp_rs

    class Auth(rtmp_rs.Handler):
        async def on_publish(self, session, params):
            return params.query_param("token") == "secret"

        def on_keyframe(self, session, frame):
            print(frame.key, frame.timestamp)

    rtmp_rs.Server(Auth(), bind="0.0.0.0:1935").run()

Play::

    for item in rtmp_rs.Player("rtmp://127.0.0.1/live/cam"):
        print(item)

Read and write a server's streams in-process::

    with server.subscribe("live/cam", wait=10) as sub, server.publish("live/out") as out:
        for item in sub:
            if isinstance(item, rtmp_rs.Frame):
                out.send_frame(item)

Hooks run on the asyncio event loop of the server (``serve()``), or on the server's own thread
(``start()``/``run()``); library logs go to the ``rtmp_rs`` logger.
"""

from __future__ import annotations

import logging as _logging

from . import _native
from ._handler import Accept, Handler, Reject
from ._native import (
    ClosedError,
    ConnectParams,
    DataMessage,
    DisconnectReason,
    ForwardExistsError,
    ForwardStats,
    Frame,
    InvalidStateError,
    LocalPublisher,
    NetworkError,
    Player,
    PlayerEvent,
    PlayerStats,
    PlayParams,
    ProtocolError,
    Publisher,
    PublishParams,
    PullStats,
    RejectedError,
    RtmpError,
    RtmpTimeoutError,
    ServerStats,
    Session,
    StreamEvent,
    StreamInfo,
    StreamKey,
    StreamName,
    StreamNotFoundError,
    StreamStats,
    Subscription,
    TlsError,
    UrlError,
)
from ._server import Server

__version__: str = _native.__version__

__all__ = [
    "Accept",
    "ClosedError",
    "ConnectParams",
    "DataMessage",
    "DisconnectReason",
    "ForwardExistsError",
    "ForwardStats",
    "Frame",
    "Handler",
    "InvalidStateError",
    "LocalPublisher",
    "NetworkError",
    "PlayParams",
    "Player",
    "PlayerEvent",
    "PlayerStats",
    "ProtocolError",
    "PublishParams",
    "Publisher",
    "PullStats",
    "Reject",
    "RejectedError",
    "RtmpError",
    "RtmpTimeoutError",
    "Server",
    "ServerStats",
    "Session",
    "StreamEvent",
    "StreamInfo",
    "StreamKey",
    "StreamName",
    "StreamNotFoundError",
    "StreamStats",
    "Subscription",
    "TlsError",
    "UrlError",
    "__version__",
    "sync_log_level",
]

logger = _logging.getLogger("rtmp_rs")


def sync_log_level() -> None:
    """Makes the library log at the level of the ``rtmp_rs`` logger now.

    Records below it are dropped before they reach Python. Called at import and whenever a
    server or client is made; call it after changing the level of ``rtmp_rs`` later.
    """
    _native.set_log_level(logger.getEffectiveLevel())


sync_log_level()
