"""Call recordings: rtpengine's per-call pcaps turned into WAV files, linked to their call, played back,
kept for the retention period unless on legal hold."""
