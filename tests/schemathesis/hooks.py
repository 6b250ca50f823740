"""Schemathesis hooks for the API tests (`tests/tests/all/api.rs`).

Schemathesis's own `object_level_authorization` check replays one peer's
reads as the other. It cannot see writes, so this adds a check of our own:
a third user, whom Schemathesis does not know, owns a todo; a share of the
generated requests aim at that todo's id, and every one of them must be
refused without a sign that it exists (never a 2xx, never a 409 about its
state; a 400 for a malformed body may come first), and no answer to anyone may carry that user's data. The Rust
test then checks the todo is unchanged.

Set by the test: FOREIGN_TODO_ID, and FOREIGN_MARKERS (strings only the
third user's data contains, separated by newlines).
"""

import os
import random

import schemathesis

FOREIGN_TODO_ID = os.environ["FOREIGN_TODO_ID"]
MARKERS = [m for m in os.environ["FOREIGN_MARKERS"].split("\n") if m]
# A fixed stream, so a run's choice of requests follows from Schemathesis's seed alone.
CHOICE = random.Random(int(os.environ.get("FOREIGN_SHARE_SEED", "0")))


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if "id" in case.path_parameters and CHOICE.random() < 0.25:
        case.path_parameters["id"] = FOREIGN_TODO_ID


@schemathesis.check
def never_another_users_data(ctx, response, case):
    """The third user's todo is never found, changed or shown to anyone."""
    status = response.status_code
    if case.path_parameters.get("id") == FOREIGN_TODO_ID and (200 <= status < 300 or status == 409):
        raise AssertionError(
            f"{case.method} {case.formatted_path} on another user's todo answered {status}"
        )
    body = response.text or ""
    for marker in MARKERS:
        if marker in body:
            raise AssertionError(f"the answer carries another user's data ({marker!r})")
