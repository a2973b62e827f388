"""Messages in Bahasa Indonesia first, English second; one catalogue for API problems and pages."""

from __future__ import annotations

LANGUAGES = ("id", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "bad_request": {"id": "Permintaan tidak valid", "en": "Bad request"},
    "validation_failed": {"id": "Data yang dikirim tidak valid", "en": "The submitted data is not valid"},
    "not_authenticated": {"id": "Silakan masuk terlebih dahulu", "en": "Please log in first"},
    "forbidden": {"id": "Anda tidak berwenang melakukan ini", "en": "You are not allowed to do this"},
    "not_found": {"id": "Data tidak ditemukan", "en": "Not found"},
    "method_not_allowed": {"id": "Metode tidak diizinkan", "en": "Method not allowed"},
    "conflict": {"id": "Terjadi konflik data", "en": "Conflict"},
    "stale_version": {
        "id": "Data sudah diubah orang lain (versi {current}); muat ulang lalu coba lagi",
        "en": "Someone else changed this (now version {current}); reload and try again",
    },
    "csrf_failed": {"id": "Token CSRF tidak valid; muat ulang halaman", "en": "Invalid CSRF token; reload the page"},
    "login_failed": {"id": "Nama pengguna atau kata sandi salah", "en": "Wrong username or password"},
    "too_many_logins": {
        "id": "Terlalu banyak percobaan masuk; coba lagi dalam {seconds} detik",
        "en": "Too many login attempts; try again in {seconds} seconds",
    },
    "idempotency_mismatch": {
        "id": "Idempotency-Key ini sudah dipakai untuk permintaan yang berbeda",
        "en": "This Idempotency-Key was already used for a different request",
    },
    "invalid_transition": {
        "id": "Status tidak dapat diubah dari '{current}' ke '{target}'",
        "en": "Status cannot change from '{current}' to '{target}'",
    },
    "unit_unavailable": {
        "id": "Unit {callsign} tidak tersedia (status: {unit_status})",
        "en": "Unit {callsign} is not available (status: {unit_status})",
    },
    "unit_other_agency": {
        "id": "Unit {callsign} bukan milik instansi penugasan ini",
        "en": "Unit {callsign} does not belong to this assignment's agency",
    },
    "already_assigned": {
        "id": "Instansi ini sudah ditugaskan pada kejadian ini",
        "en": "This agency is already assigned to this incident",
    },
    "incident_not_clear": {
        "id": "Kejadian belum dapat ditutup: masih ada penugasan yang aktif ({open})",
        "en": "Incident cannot be closed: assignments still open ({open})",
    },
    "unknown_reference": {"id": "{what} tidak dikenal: {value}", "en": "Unknown {what}: {value}"},
    "duplicate": {"id": "{what} sudah ada: {value}", "en": "{what} already exists: {value}"},
    "call_event_order": {
        "id": "Kejadian panggilan '{type}' tidak sesuai dengan status panggilan '{status}'",
        "en": "Call event '{type}' does not fit call status '{status}'",
    },
    "four_eyes": {
        "id": "Pembatasan harus disetujui oleh supervisor lain, bukan oleh yang mengusulkan",
        "en": "A restriction must be approved by another supervisor, not the one who proposed it",
    },
    "call_taken": {
        "id": "Panggilan sudah diambil oleh {username}",
        "en": "This call has already been taken by {username}",
    },
    "payload_too_large": {
        "id": "Data yang dikirim terlalu besar (batas {limit} byte)",
        "en": "Request body too large (limit {limit} bytes)",
    },
    "internal_error": {
        "id": "Terjadi kesalahan di server; tidak ada data yang tersimpan setengah",
        "en": "Server error; nothing was half-saved",
    },
    "database_busy": {
        "id": "Basis data sedang sibuk; coba lagi",
        "en": "The database is busy; try again",
    },
}


def negotiate(accept_language: str | None, preferred: str | None = None, default: str = "id") -> str:
    """The user's own preference wins, then the browser's Accept-Language, then Indonesian."""
    if preferred in LANGUAGES:
        return preferred  # type: ignore[return-value]
    if accept_language:
        for part in accept_language.split(","):
            code = part.split(";")[0].strip().lower()[:2]
            if code in LANGUAGES:
                return code
    return default


def t(key: str, lang: str = "id", **kwargs: object) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["id"]
    return text.format(**kwargs) if kwargs else text
