"""Quality review of calls: a checklist kept as data, a review sample drawn by rule, one review per call,
the call-taker's feedback and the period report's QA figures."""
