"""The nuisance-risk hint: how likely a ringing call is a prank, from its metadata only, learned from the
centre's own labelled outcomes — and why, in plain words. A hint on the call-taker's screen, never an
action: nothing in Siaga reads the score to route, delay, drop or refuse a call.

Features of a call ringing at time t, from the same number's earlier calls (the 90 days before t; an
earlier call's outcome counts only once that call had ended, as it would have been known at t):

  withheld         the number is withheld (then there is no history)
  first_time       no earlier call in 90 days
  pranks_7d        earlier calls recorded as prank in 7 days        (counts enter as log(1 + n))
  pranks_90d       … in 90 days
  calls_24h        earlier calls of any kind in 24 h
  emergencies_90d  earlier calls recorded as a genuine emergency in 90 days
  short_calls_90d  earlier answered calls shorter than 30 s in 90 days
  night            rings between 22:00 and 04:59 local time (the site's zone)

Silent (ghost) calls deliberately never count against a number: a silent caller may be a victim.

Learning (`fit`, scikit-learn, imported only there): a logistic regression on standardised features,
trained on the calls of one period that an operator labelled (emergency, information, prank, ghost, wrong
number), positive = prank. Its threshold is the lowest score at which at most `max_genuine_flagged` of the
training period's genuine emergencies would have been flagged (and never below 0.5). `evaluate` scores a
LATER period with the stored parameters — the same code the ring-time hint runs — and counts precision,
recall and the share of genuine emergencies wrongly flagged.

Ring time (`hint`): one indexed query for the number's last 90 days and a dot product in pure Python from
the JSON parameters stored in `risk_model`: no scikit-learn, no pickle. A feature's contribution to the
log-odds (coefficient × its standardised value, i.e. against the training average) is what the screen
explains: "4 panggilan iseng dalam 7 hari ↑"."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from siaga.core.clock import SiteZone
from siaga.core.i18n import t
from siaga.domains.callers import schemas
from siaga.domains.callers.models import RiskModel
from siaga.domains.calls.models import Call
from siaga.domains.calls.numbers import msisdn_variants, normalise_msisdn
from siaga.domains.calls.privacy import ANONYMISED

FEATURES = ("withheld", "first_time", "pranks_7d", "pranks_90d", "calls_24h", "emergencies_90d", "short_calls_90d",
            "night")
COUNTS = frozenset({"pranks_7d", "pranks_90d", "calls_24h", "emergencies_90d", "short_calls_90d"})
LOOKBACK = timedelta(days=90)
LABELLED = ("emergency", "information", "prank", "ghost", "wrong_number")
POSITIVE = "prank"
SHORT_CALL_S = 30
NIGHT_HOURS = frozenset({22, 23, 0, 1, 2, 3, 4})
ALGORITHM = "logistic_regression"
PARAMS_VERSION = 1
MAX_REASONS = 3
MIN_REASON = 0.05  # a term smaller than this (in log-odds) is not worth a line on the screen
THRESHOLD_FLOOR = 0.5


class InsufficientData(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Row:
    """One call as the model reads it; `number` normalised ('' when withheld)."""

    id: int
    number: str
    offered_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class Sample:
    call_id: int
    at: datetime
    outcome: str
    raw: dict[str, float]


def raw_features(at: datetime, withheld: bool, past: Iterable[Row], zone: SiteZone) -> dict[str, float]:
    """The features of a call ringing at `at`, from the number's earlier calls (any order, any age); "night"
    is the site's night, so a WITA centre's 23:00 is night although it is 22:00 in Jakarta."""
    f = dict.fromkeys(FEATURES, 0.0)
    f["night"] = 1.0 if zone.local(at).hour in NIGHT_HOURS else 0.0
    if withheld:
        f["withheld"] = 1.0
        return f
    seen = 0
    day, week, start = at - timedelta(hours=24), at - timedelta(days=7), at - LOOKBACK
    for p in past:
        if p.offered_at < start or p.offered_at > at:
            continue
        seen += 1
        if p.offered_at >= day:
            f["calls_24h"] += 1
        if p.ended_at is None or p.ended_at > at:
            continue  # its outcome was not known yet when this call rang
        if p.outcome == POSITIVE:
            f["pranks_90d"] += 1
            if p.offered_at >= week:
                f["pranks_7d"] += 1
        elif p.outcome == "emergency":
            f["emergencies_90d"] += 1
        if p.answered_at is not None and (p.ended_at - p.answered_at).total_seconds() < SHORT_CALL_S:
            f["short_calls_90d"] += 1
    f["first_time"] = 1.0 if seen == 0 else 0.0
    return f


def vector(raw: dict[str, float], features: Sequence[str] = FEATURES) -> list[float]:
    return [math.log1p(raw[k]) if k in COUNTS else raw[k] for k in features]


@dataclass(frozen=True)
class Model:
    """The stored parameters, ready to score (pure Python)."""

    id: int | None
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    trained_at: datetime | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: dict[str, Any], model_id: int | None = None, trained_at: datetime | None = None,
                    metrics: dict[str, Any] | None = None) -> Model:
        if params.get("version") != PARAMS_VERSION or params.get("algorithm") != ALGORITHM:
            raise ValueError(f"unknown risk model parameters (version {params.get('version')})")
        features = tuple(params["features"])
        unknown = set(features) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}")
        return cls(id=model_id, features=features, mean=tuple(params["mean"]), scale=tuple(params["scale"]),
                   coef=tuple(params["coef"]), intercept=float(params["intercept"]),
                   threshold=float(params["threshold"]), trained_at=trained_at, metrics=metrics or {})

    def terms(self, raw: dict[str, float]) -> list[float]:
        x = vector(raw, self.features)
        return [c * (v - m) / s for c, v, m, s in zip(self.coef, x, self.mean, self.scale, strict=True)]

    def score(self, raw: dict[str, float]) -> float:
        logit = self.intercept + sum(self.terms(raw))
        if logit >= 0:
            return 1.0 / (1.0 + math.exp(-logit))
        e = math.exp(logit)
        return e / (1.0 + e)


# --- plain words ------------------------------------------------------------------------------------------

def _n(raw: dict[str, float], key: str) -> int:
    return int(round(raw[key]))


def phrase(feature: str, raw: dict[str, float], at: datetime, zone: SiteZone, lang: str = "id") -> str:
    """One reason in plain words ("4 panggilan iseng dalam 7 hari"), from the catalogue's `risk.*`."""
    clock = f"{zone.local(at):%H:%M} {zone.label_at(at)}"
    if feature in ("withheld", "first_time", "night"):
        return t(f"risk.{feature}_{'yes' if raw[feature] else 'no'}", lang, clock=clock)
    return t(f"risk.{feature}", lang, n=_n(raw, feature), short_s=SHORT_CALL_S)


def explain(model: Model, raw: dict[str, float], at: datetime, zone: SiteZone,
            lang: str = "id") -> list[schemas.RiskReason]:
    terms = sorted(zip(model.features, model.terms(raw), strict=True), key=lambda t: -abs(t[1]))
    return [schemas.RiskReason(feature=f, text=phrase(f, raw, at, zone, lang), direction="up" if t > 0 else "down",
                               contribution=round(t, 4))
            for f, t in terms[:MAX_REASONS] if abs(t) >= MIN_REASON]


# --- ring time --------------------------------------------------------------------------------------------

def active_model(db: Session) -> Model | None:
    """The newest active model (one small row read per hint; parameters are a few hundred bytes)."""
    row = db.scalar(select(RiskModel).where(RiskModel.active.is_(True))
                    .order_by(RiskModel.trained_at.desc(), RiskModel.id.desc()).limit(1))
    if row is None:
        return None
    try:
        return Model.from_params(row.params or {}, row.id, row.trained_at, row.metrics or {})
    except (KeyError, TypeError, ValueError):
        return None  # a model this code cannot read shows nothing rather than a wrong hint


def features_of_call(db: Session, call: Call, zone: SiteZone) -> dict[str, float] | None:
    """The call's features as they were when it rang (None for an anonymised call)."""
    if call.caller_number == ANONYMISED:
        return None
    number = normalise_msisdn(call.caller_number)
    at = call.offered_at
    if not number:
        return raw_features(at, True, (), zone)
    earlier = or_(Call.offered_at < at, and_(Call.offered_at == at, Call.id < call.id))
    rows = db.execute(select(Call.id, Call.offered_at, Call.answered_at, Call.ended_at, Call.outcome).where(
        Call.caller_number.in_(msisdn_variants(number)), Call.offered_at >= at - LOOKBACK, earlier)).all()
    past = [Row(r.id, number, r.offered_at, r.answered_at, r.ended_at, r.outcome) for r in rows]
    return raw_features(at, False, past, zone)


def hint(db: Session, call: Call, zone: SiteZone, lang: str = "id") -> schemas.RiskOut:
    model = active_model(db)
    raw = features_of_call(db, call, zone) if model is not None else None
    if model is None or raw is None:
        return schemas.RiskOut(available=False, call_id=call.id)
    score = model.score(raw)
    test = model.metrics.get("test") or {}
    return schemas.RiskOut(
        available=True, call_id=call.id, model_id=model.id, score=round(score, 4),
        flagged=score >= model.threshold, threshold=model.threshold,
        reasons=explain(model, raw, call.offered_at, zone, lang), note=t("risk_note", lang),
        trained_at=model.trained_at, test_precision=test.get("precision"), test_recall=test.get("recall"),
        test_genuine_flagged_share=test.get("genuine_flagged_share"))


# --- learning and honest evaluation -------------------------------------------------------------------------

def load_rows(db: Session, start: datetime, end: datetime) -> list[Row]:
    """Calls offered in [start − 90 days, end), oldest first; anonymised calls are left out entirely."""
    query = (select(Call.id, Call.caller_number, Call.offered_at, Call.answered_at, Call.ended_at, Call.outcome)
             .where(Call.offered_at >= start - LOOKBACK, Call.offered_at < end, Call.caller_number != ANONYMISED)
             .order_by(Call.offered_at, Call.id))
    cache: dict[str, str] = {}
    rows = []
    for r in db.execute(query.execution_options(yield_per=5000)):
        number = cache.get(r.caller_number)
        if number is None:
            number = cache[r.caller_number] = normalise_msisdn(r.caller_number or "")
        rows.append(Row(r.id, number, r.offered_at, r.answered_at, r.ended_at, r.outcome))
    return rows


def samples(rows: Iterable[Row], start: datetime, end: datetime, zone: SiteZone) -> list[Sample]:
    """The labelled calls offered in [start, end), each with its features from the calls before it — the
    same features `features_of_call` computes when the call rings. `rows` in (offered_at, id) order."""
    history: dict[str, deque[Row]] = {}
    out = []
    for r in rows:
        past = history.get(r.number) if r.number else None
        if past is not None:
            while past and past[0].offered_at < r.offered_at - LOOKBACK:
                past.popleft()
        if start <= r.offered_at < end and r.outcome in LABELLED:
            raw = raw_features(r.offered_at, not r.number, past or (), zone)
            out.append(Sample(r.id, r.offered_at, r.outcome, raw))
        if r.number:
            if past is None:
                past = history[r.number] = deque()
            past.append(r)
    return out


def choose_threshold(scores: Sequence[float], outcomes: Sequence[str], max_genuine_flagged: float) -> float:
    """The lowest threshold at which at most `max_genuine_flagged` of these genuine emergencies score at or
    above it — never below THRESHOLD_FLOOR."""
    genuine = sorted((s for s, o in zip(scores, outcomes, strict=True) if o == "emergency"), reverse=True)
    allowed = math.floor(max_genuine_flagged * len(genuine) + 1e-9)
    if allowed >= len(genuine):
        return THRESHOLD_FLOOR
    return max(THRESHOLD_FLOOR, math.nextafter(genuine[allowed], 2.0))


def evaluate(model: Model, period: Sequence[Sample], offered: Sequence[Row] = ()) -> dict[str, Any]:
    """Precision, recall and the share of genuine emergencies flagged, over one period's labelled calls,
    scored with the stored parameters. `offered`: every call of the period, for its base rates."""
    flagged = tp = pranks = genuine = genuine_flagged = 0
    for s in period:
        hit = model.score(s.raw) >= model.threshold
        positive = s.outcome == POSITIVE
        flagged += hit
        pranks += positive
        tp += hit and positive
        genuine += s.outcome == "emergency"
        genuine_flagged += hit and s.outcome == "emergency"

    def share(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    n_offered = len(offered)
    offered_emergencies = sum(1 for r in offered if r.outcome == "emergency")
    return {"calls": len(period), "pranks": pranks, "emergencies": genuine, "flagged": flagged,
            "true_positives": tp, "false_positives": flagged - tp, "precision": share(tp, flagged),
            "recall": share(tp, pranks), "genuine_flagged": genuine_flagged,
            "genuine_flagged_share": share(genuine_flagged, genuine), "flagged_share": share(flagged, len(period)),
            "offered": n_offered, "emergency_share_of_offered": share(offered_emergencies, n_offered),
            "prank_share_of_labelled": share(pranks, len(period))}


def fit(train: Sequence[Sample], max_genuine_flagged: float = 0.05, c: float = 1.0) -> tuple[dict[str, Any], float]:
    """Train on one period's samples. Returns the parameters (JSON) and the largest difference between
    scikit-learn's probabilities and the pure-Python scorer's on the training set (a self-check)."""
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    y = np.array([s.outcome == POSITIVE for s in train], dtype=int)
    if len(train) < 20 or y.min() == y.max():
        raise InsufficientData(f"{len(train)} labelled calls, {int(y.sum())} of them pranks: a model needs both "
                               "pranks and other labelled calls in the training period")
    x = np.array([vector(s.raw) for s in train], dtype=float)
    scaler = StandardScaler().fit(x)
    z = scaler.transform(x)
    clf = LogisticRegression(C=c, max_iter=5000).fit(z, y)
    params: dict[str, Any] = {
        "version": PARAMS_VERSION, "algorithm": ALGORITHM, "sklearn": sklearn.__version__,
        "features": list(FEATURES), "counts_as": "log1p", "mean": [float(v) for v in scaler.mean_],
        "scale": [float(v) for v in scaler.scale_], "coef": [float(v) for v in clf.coef_[0]],
        "intercept": float(clf.intercept_[0]), "threshold": THRESHOLD_FLOOR, "positive": POSITIVE,
        "lookback_days": LOOKBACK.days, "short_call_s": SHORT_CALL_S, "night_hours_wib": sorted(NIGHT_HOURS),
        "max_genuine_flagged": max_genuine_flagged, "C": c}
    model = Model.from_params(params)
    scores = [model.score(s.raw) for s in train]
    check = float(np.max(np.abs(np.array(scores) - clf.predict_proba(z)[:, 1])))
    params["threshold"] = choose_threshold(scores, [s.outcome for s in train], max_genuine_flagged)
    return params, check


@dataclass
class Trained:
    params: dict[str, Any]
    metrics: dict[str, Any]


def train_and_evaluate(rows: Sequence[Row], train: tuple[datetime, datetime], test: tuple[datetime, datetime],
                       zone: SiteZone, max_genuine_flagged: float = 0.05) -> Trained:
    """Fit on `train`, evaluate on the later `test` period ([from, to) instants; test must start at or after
    the end of train). `rows` must cover [train start − 90 days, test end) in (offered_at, id) order."""
    if not (train[0] < train[1] <= test[0] < test[1]):
        raise ValueError("the periods must be train_from < train_to ≤ test_from < test_to")
    train_samples = samples(rows, *train, zone)
    test_samples = samples(rows, *test, zone)
    params, check = fit(train_samples, max_genuine_flagged)
    model = Model.from_params(params)
    in_train = [r for r in rows if train[0] <= r.offered_at < train[1]]
    in_test = [r for r in rows if test[0] <= r.offered_at < test[1]]
    metrics = {"train": evaluate(model, train_samples, in_train), "test": evaluate(model, test_samples, in_test),
               "threshold": params["threshold"], "max_genuine_flagged": max_genuine_flagged,
               "sklearn_vs_scorer_max_abs_diff": check,
               "coefficients": dict(zip(FEATURES, [round(v, 4) for v in params["coef"]], strict=True))}
    return Trained(params=params, metrics=metrics)
