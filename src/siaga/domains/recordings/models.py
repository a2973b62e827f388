"""One recording of one call (both directions), as rtpengine made it and the ticker attached it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from siaga.db.base import Base, BigId, UTCDateTime

# ready: the WAV is there; unreadable: rtpengine's pcap could not be decoded (kept beside, with the reason);
# deleted: removed by the retention (the row stays: its hash and times are still evidence of what was).
RECORDING_STATES = ("ready", "unreadable", "deleted")


class Recording(Base):
    __tablename__ = "recording"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # rtpengine's metadata file name: one per recording, so a file attached twice is attached once.
    source: Mapped[str] = mapped_column(String(300), unique=True)
    # The call's reference as the bridge stores it (calls.external_ref: the SIP Call-ID, or its hash).
    call_ref: Mapped[str] = mapped_column(String(200), index=True)
    # Linked once the call is known (a call handled while the service was away arrives later).
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    # The file, relative to SIAGA_RECORDING_DIR.
    file_name: Mapped[str] = mapped_column(String(300), default="")
    media_type: Mapped[str] = mapped_column(String(40), default="audio/wav")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    hold_reason: Mapped[str] = mapped_column(Text, default="")
    hold_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    hold_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def recovered(self) -> bool:
        """Finished by Siaga after rtpengine stopped without finishing it (recordings.actions.recover_orphans):
        playable, its last moments possibly missing."""
        return self.state == "ready" and self.reason.startswith("recovered:")
