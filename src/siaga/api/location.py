"""AML intake: fixes from the network (the HTTPS post of ETSI TS 103 625, or an SMS relayed by a gateway)
attached to the caller's call. A fix is never refused for its values — a bad one is recorded invalid with
the reason; only a body that is not AML at all is a 422, and a post whose HMAC does not match a 401."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from siaga.core.context import Ctx
from siaga.core.errors import Problem, invalid
from siaga.core.http import ctx_for
from siaga.domains.location import actions, aml, schemas
from siaga.domains.location.errors import AmlAuthError, AmlError

router = APIRouter(tags=["location"])

FORM_FIELDS = ("v", "emergency_number", "source", "time", "location_latitude", "location_longitude",
               "location_time", "location_altitude", "location_floor", "location_source", "location_accuracy",
               "location_vertical_accuracy", "location_confidence", "location_certainty", "location_bearing",
               "location_speed", "device_number", "device_model", "device_imsi", "device_imei", "device_iccid",
               "cell_home_mcc", "cell_home_mnc", "cell_network_mcc", "cell_network_mnc", "device_languages", "hmac")
FORM_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
    # No maxLength: a fix is never refused for its values (a value too long to read is recorded as the fix's
    # invalid reason); the body as a whole has the request size limit (413).
    "schema": {"type": "object", "properties": {name: {"type": "string"} for name in FORM_FIELDS},
               "description": "AML HTTPS post (ETSI TS 103 625 / Google ELS field names). With SIAGA_AML_HMAC_KEY "
                              "set, `hmac` (last) must be HMAC-SHA1(key, the body before '&hmac=') in hex. A value "
                              "that cannot be read is never refused: the fix is recorded invalid, with the reason."}}}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same fix was already attached to that call (duplicate: true); nothing changed"},
    201: {"description": "attached to the live (or most recent) call from that number"},
    202: {"model": schemas.AmlIngestOut,
          "description": "kept, not attached: no call from that number yet (recorded in the audit log as "
                         "aml.unmatched, attached when the call is recorded) or no caller number"},
}


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _status(result: schemas.AmlIngestOut) -> int:
    return 202 if not result.attached else 200 if result.duplicate else 201


@router.post("/aml", status_code=201, response_model=schemas.AmlIngestOut, responses=RESPONSES,
             openapi_extra=FORM_BODY)
def post_aml(response: Response, body: bytes = Depends(_raw_body),
             ctx: Ctx = Depends(ctx_for("aml.ingest"))) -> schemas.AmlIngestOut:
    """An AML HTTPS post as the handset's platform sends it (application/x-www-form-urlencoded). The fix is
    attached to the caller's (`device_number`) live call, else their most recent call of the last 24 hours."""
    try:
        fix = aml.parse_aml_https(body, ctx.settings.aml_hmac_key)
    except AmlAuthError as exc:
        raise Problem(401, "not_authenticated",
                      errors=[{"field": "body.hmac", "message": exc.reason, "code": "hmac_mismatch"}]) from None
    except AmlError as exc:
        raise invalid("body", exc.reason, "not_aml") from None
    result = actions.ingest_aml(ctx, fix, via="https")
    response.status_code = _status(result)
    return result


@router.post("/aml/sms", status_code=201, response_model=schemas.AmlIngestOut, responses=RESPONSES)
def post_aml_sms(data: schemas.AmlSmsIn, response: Response,
                 ctx: Ctx = Depends(ctx_for("aml.ingest"))) -> schemas.AmlIngestOut:
    """An AML SMS relayed by an SMS gateway: the text (A"ML=1;… or A"ML=2;…) or a data SMS's user data in hex
    or base64, with the SMS's originating number (`sender`), which is how the fix finds its call."""
    text = data.message.strip()
    try:
        if data.encoding == "text" or (data.encoding == "auto" and text.upper().startswith(aml.HEADER.upper())):
            fix = aml.parse_aml_sms(text)
            via = "sms"
        else:
            fix = aml.parse_aml_data_sms(text, data.encoding)
            via = "data_sms"
    except AmlError as exc:
        raise invalid("body.message", exc.reason, "not_aml") from None
    result = actions.ingest_aml(ctx, fix, via=via, sender=data.sender)
    response.status_code = _status(result)
    return result
