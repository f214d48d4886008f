"""The handler base class, the ``Reject`` exception and the ``Accept`` answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Iterable, Optional, Sequence, Union

if TYPE_CHECKING:
    from ._native import (
        ConnectParams,
        DataMessage,
        DisconnectReason,
        ForwardStats,
        Frame,
        PlayParams,
        PublishParams,
        PullStats,
        ServerStats,
        Session,
        StreamKey,
        StreamName,
    )



class _ServerBudget:
    """The default of ``Accept.latency_budget``: the server's ``player_latency_budget``."""

    def __repr__(self) -> str:
        return "<the server's player_latency_budget>"


_SERVER_BUDGET: Any = _ServerBudget()


@dataclass(frozen=True)
class Accept:
    """Return it from ``on_play`` or ``on_publish`` to accept with settings of this stream's own.

    ``latency_budget`` (``on_play``): how far (seconds) this player may fall behind live before
    it loses video, then audio, instead of the server's ``player_latency_budget``; None for no
    limit but the queue's length. ``return rtmp_rs.Accept(latency_budget=0.5)`` keeps a
    monitoring player within half a second.

    ``forward`` (``on_publish``): RTMP or RTMPS URLs the stream is forwarded to as well (beside
    the server's ``forward`` rules), each its own connection with its own reconnects and
    statistics (``StreamStats.forwards``, ``on_forward``):
    ``return rtmp_rs.Accept(forward=[f"rtmp://backup/live/{params.name}"])``. One that is not an
    RTMP(S) URL refuses the publish, logged.

    Other decision hooks treat it as True.
    """

    latency_budget: Optional[float] = _SERVER_BUDGET
    forward: Sequence[str] = field(default=())

    def __post_init__(self) -> None:
        budget = self.latency_budget
        if budget is not _SERVER_BUDGET and budget is not None and not 0 <= budget < float("inf"):
            raise ValueError(f"latency_budget: {budget} is not a duration in seconds")
        object.__setattr__(self, "forward", _urls("forward", self.forward))

    @property
    def has_latency_budget(self) -> bool:
        """Whether a ``latency_budget`` was given (else the server's applies)."""
        return self.latency_budget is not _SERVER_BUDGET


def _urls(what: str, urls: Iterable[str]) -> tuple[str, ...]:
    """A list of URLs as a tuple of str; a lone str (a common slip) is refused."""
    if isinstance(urls, (str, bytes)):
        raise TypeError(f"{what}: a list of URLs, not one str")
    items = tuple(urls)
    for url in items:
        if not isinstance(url, str):
            raise TypeError(f"{what}: URLs are str, not {type(url).__name__}")
    return items


Decision = Union[bool, None, Accept, Awaitable[Union[bool, None, Accept]]]
"""What a decision hook returns: True (or None) accepts, False rejects, ``Accept(...)`` accepts
a play or a publish with its own settings; or an awaitable of it."""
Upstreams = Union[None, Sequence[str], Awaitable[Union[None, Sequence[str]]]]
"""What ``on_locate`` returns: the upstream URLs to pull from, tried in order; None (or an
empty list) for the server's ``pull`` rules; or an awaitable of it."""
Password = Union[None, str, Awaitable[Optional[str]]]
"""What ``on_credentials`` returns: the user's password, or None when there is no such user;
or an awaitable of it."""
Notification = Union[None, Awaitable[None]]


class Reject(Exception):
    """Raise it from a decision hook to reject with a reason the client sees.

    ``raise rtmp_rs.Reject("Bad token.")`` answers ``NetStream.Publish.Denied`` (for
    ``on_publish``) with that description.
    """

    def __init__(self, reason: str = "Rejected.") -> None:
        super().__init__(reason)
        self.reason = reason


class Handler:
    """The server's hooks. Subclass it and override what you need; each hook may be a plain
    ``def`` or an ``async def``.

    Decision hooks (``on_connection``, ``on_connect``, ``on_publish``, ``on_play``) accept
    when they return True or None, reject when they return False or raise ``Reject(reason)``;
    any other exception is logged and rejects. A slow ``async`` decision delays only its own
    connection. ``on_locate`` is a decision too: it returns upstream URLs (an exception is
    logged and names none); so is ``on_credentials``: it returns a user's password (an
    exception is logged and means no such user). Plain ``def`` decision hooks run on a thread
    pool, other plain ``def`` hooks on the event loop: keep those quick.

    Notifications return nothing; an exception is logged and the server goes on.
    ``on_media_tag`` is the exception to the rule: it is a synchronous filter called on a
    library thread for every message (it must be a plain ``def``); False drops the message.
    Only overridden hooks cost anything: the library does not even build the others' events.
    """

    def on_connection(self, peer_addr: str) -> Decision:
        """A TCP connection arrived (before the handshake); ``peer_addr`` is ``"ip:port"``."""
        return True

    def on_handshake_complete(self, session: Session) -> Notification:
        """The RTMP handshake finished."""

    def on_connect(self, session: Session, params: ConnectParams) -> Decision:
        """``connect`` arrived (app, tcUrl, query, …). Reject: NetConnection.Connect.Rejected."""
        return True

    def on_fc_publish(self, session: Session, name: StreamName) -> Notification:
        """``FCPublish`` arrived (the decision comes in ``on_publish``)."""

    def on_publish(self, session: Session, params: PublishParams) -> Decision:
        """``publish`` arrived. Reject: NetStream.Publish.Denied. ``Accept(forward=[...])``
        forwards this stream to those URLs too."""
        return True

    def on_unpublish(self, session: Session, key: StreamKey) -> Notification:
        """An accepted publisher stopped."""

    def on_publish_interrupted(self, session: Session, key: StreamKey) -> Notification:
        """An accepted publisher vanished without unpublishing (socket error, EOF, idle timeout):
        its players wait ``publisher_reconnect_grace`` for a republish. Its ``on_unpublish``
        follows."""

    def on_publish_resumed(self, session: Session, key: StreamKey, outage: float) -> Notification:
        """A publish of an interrupted stream was accepted within the grace; its players went on
        without a notice. ``session`` is the new publisher's; ``outage``: seconds since the
        interruption."""

    def on_play(self, session: Session, params: PlayParams) -> Decision:
        """``play`` arrived. Reject: NetStream.Play.Failed. ``Accept(latency_budget=...)``
        gives this player its own budget."""
        return True

    def on_play_stop(self, session: Session, key: StreamKey) -> Notification:
        """An accepted player stopped."""

    def on_pause(self, session: Session, key: StreamKey) -> Notification:
        """A player paused."""

    def on_unpause(self, session: Session, key: StreamKey) -> Notification:
        """A player resumed."""

    def on_metadata(self, session: Session, key: StreamKey, metadata: dict[str, Any]) -> Notification:
        """The publisher sent ``onMetaData``."""

    def on_media_tag(self, session: Session, frame: Frame) -> bool:
        """Every audio, video and data message before it reaches players; False drops it.

        Runs synchronously on a library thread (not the event loop): plain ``def`` only.
        """
        return True

    def on_video_frame(self, session: Session, frame: Frame) -> Notification:
        """Every video message that parsed."""

    def on_audio_frame(self, session: Session, frame: Frame) -> Notification:
        """Every audio message that parsed."""

    def on_keyframe(self, session: Session, frame: Frame) -> Notification:
        """Every video keyframe that is not a sequence header."""

    def on_disconnect(self, session: Session, reason: DisconnectReason) -> Notification:
        """A connection ended."""

    def on_stats(self, stats: ServerStats) -> Notification:
        """Periodic statistics (every ``stats_interval`` seconds)."""

    def on_forward(self, key: StreamKey, stats: ForwardStats) -> Notification:
        """A forward of stream ``key`` changed state (``stats.state``: ``"connecting"``,
        ``"live"`` or ``"backoff"``, ``stats.last_error`` telling why it failed)."""

    def on_locate(self, key: StreamKey) -> Upstreams:
        """Stream ``key`` is played but not published here: the upstream URLs (RTMP or RTMPS)
        to pull it from while it is played, tried in order until one sends media (failover).
        None or ``[]``: the server's ``pull`` rules. An exception, or a URL that is not RTMP(S),
        is logged and names no upstream (the rules apply); so does no answer within
        ``decision_timeout``."""
        return None

    def on_pull(self, key: StreamKey, stats: PullStats) -> Notification:
        """The pull of stream ``key`` changed state (``stats.state``: ``"connecting"`` (or
        waiting for the first media), ``"live"`` or ``"backoff"``; ``stats.url`` the upstream)."""

    def on_data(self, session: Session, key: StreamKey, data: DataMessage) -> Notification:
        """The publisher of ``key`` sent a data message other than ``onMetaData``
        (``onTextData``, ``onCuePoint``, ``onCaption``, ...): ``data.name`` and ``data.values``
        (Python values: ``onTextData``'s is ``[{"type": "Text", "text": "hello"}]``). It reached
        the players (``on_media_tag`` let it through)."""

    def on_credentials(self, app: str, user: str) -> Password:
        """A client logs in to ``app`` as ``user`` (``publish_auth="adobe"``: encoders such as
        ffmpeg and OBS publishing to ``rtmp://user:password@host/app/key``): return the user's
        password, or None when there is no such user (the client is refused with
        ``nosuchuser``; a wrong password with ``authfailed``). Asked twice per login (at the
        challenge and at the answer). An exception, a value that is not a str, or no answer
        within ``decision_timeout`` is logged and means no such user. The logged-in user shows
        as ``session.user`` in the later hooks of that connection."""
        return None
