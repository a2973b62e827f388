import pytest
from schemathesis import GenerationMode

from tests.integration.test_api_schema import _run, operations


@pytest.mark.parametrize("who", ["sup", "admin"])
def test_qa_ops(app, who):
    _, ops = operations(app)
    failures = []
    for op in ops:
        if "/qa/" not in op.path and "/reports/period" not in op.path:
            continue
        for mode, n in ((GenerationMode.POSITIVE, 8), (GenerationMode.NEGATIVE, 8)):
            try:
                _run(op, mode, n, who)
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{op.method.upper()} {op.path} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
