# EventBridge: patterns, one matcher with the local cloud's, input
# paths, and disabled rules.


def _event_to_test(handler):
    """TestEventPattern's `Event`, or AWS's refusal: a JSON object with the
    envelope fields the operation requires (`resources` is not one: AWS
    accepts an event without it)."""
    from moto.events.exceptions import ValidationException

    required = ("id", "account", "source", "time", "region", "detail-type")
    try:
        event = json.loads(handler._get_param("Event") or "")
    except (TypeError, ValueError):
        event = None
    if not isinstance(event, dict) or any(f not in event for f in required):
        raise ValidationException("Parameter Event is not valid.")
    return event


def _test_event_pattern():
    """moto 5.2.5 (the newest on PyPI) has no TestEventPattern: its
    handler is `pass`, so every call answered HTTP 200 with an empty body
    and the SDK read no Result at all, for a matching pattern, a
    non-matching one and an invalid one alike.

    The answer here is moto's own matcher, the one that decides what
    moto delivers (`EventPattern.load(...).matches_event(...)`), so the
    emulator tells whether it would deliver the event, independently of
    any other implementation of the pattern language. The errors are the
    ones the API reference gives: a pattern moto's parser refuses is
    `InvalidEventPatternException` (400, "Event pattern is not valid.
    Reason: ..."), as PutRule answers for it; an Event that is not a JSON
    object, or lacks one of the envelope fields the operation requires,
    is `ValidationException` (400, "Parameter Event is not valid."), the
    answer AWS users report and LocalStack records from AWS. `resources`
    is not required: the reference lists it, but LocalStack found that
    AWS accepts an event without it."""
    # changes: events:TestEventPattern
    import json

    from moto.events.exceptions import InvalidEventPatternException
    from moto.events.models import EventPattern
    from moto.events.responses import EventsHandler

    def test_event_pattern(self):
        raw_pattern = self._get_param("EventPattern")
        try:
            parsed = json.loads(raw_pattern) if raw_pattern else {}
        except (TypeError, ValueError):
            parsed = {}  # moto's parser gives the error for bad JSON
        if not isinstance(parsed, dict):
            # moto's parser fails on it with an AttributeError (HTTP 500).
            raise InvalidEventPatternException(reason="Filter is not an object")
        pattern = EventPattern.load(raw_pattern)
        event = _event_to_test(self)
        try:
            result = pattern.matches_event(event)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
            # A filter moto cannot evaluate (e.g. a numeric bound that is
            # not a number) is one AWS refuses when it parses the pattern.
            raise InvalidEventPatternException(reason=str(e))
        return json.dumps({"Result": bool(result)}), self.response_headers

    EventsHandler.test_event_pattern = test_event_pattern


def _one_matcher():
    """moto decided deliveries with its own matcher and took any pattern
    its parser could read: measured against 191 answers recorded on AWS,
    TestEventPattern agreed on 164, PutRule's refusals on 155 (it took
    `{"NUMERIC": ["=", 5]}`, a `prefix` given a list, `{"cidr":
    "bad-filter"}`, `{"anything-but": null}`, `**`), and a rule on `time`
    never matched (moto matched the epoch seconds it keeps). Some of the
    patterns it took made every later PutEvents on their bus a 500.

    Now the local cloud's one matcher (the `event-pattern` crate, at the
    judge's `/pattern` and `/matches`) validates every pattern, PutRule's,
    a template's rule's, an archive's and TestEventPattern's, with AWS's
    `InvalidEventPatternException` and reason, and decides every delivery:
    one question per event for all the rules of its bus, its `time` as the
    text AWS matches. A rule with no pattern (a schedule) matches no event.
    PutEvents refuses an entry whose source starts with `aws.`, as AWS does
    (`NotAuthorizedForSourceException`). Without a judge (an engine alone),
    moto's own matcher stands."""
    # changes: events:PutRule events:PutEvents events:TestEventPattern events:CreateArchive
    import copy
    import functools
    import inspect
    import json
    import threading

    from moto.core.utils import iso_8601_datetime_without_milliseconds, unix_time, utcfromtimestamp
    from moto.events import models
    from moto.events.exceptions import InvalidEventPatternException, ValidationException
    from moto.events.responses import EventsHandler
    from moto.moto_api._internal import mock_random as random

    here = threading.local()

    def validated(raw):
        """Refuses `raw` as EventBridge does; None when there is no judge."""
        if raw is None:
            return
        answer = _ask_the_judge("/pattern", {"pattern": raw if isinstance(raw, str) else json.dumps(raw)})
        if answer is not None and not answer.get("valid", False):
            raise InvalidEventPatternException(reason=answer.get("reason") or "invalid")

    def as_matched(event):
        if isinstance(event.get("time"), (int, float)):
            event = dict(event)
            event["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(event["time"]))
        return event

    def verdicts_of(questions):
        """For each (event, patterns), whether the event matches each
        pattern: one question to the judge; None without a judge."""
        asked = [{"event": as_matched(event), "patterns": patterns} for event, patterns in questions]
        answer = _ask_the_judge("/matches", {"events": asked})
        found = (answer or {}).get("matches")
        if not isinstance(found, list) or len(found) != len(asked):
            return None
        return found

    def verdicts(event, patterns):
        found = verdicts_of([(event, patterns)])
        return None if found is None else found[0]

    def patterns_of(rules):
        return [rule.event_pattern._raw_pattern for rule in rules]

    def logged_matches(bus, event, rules, answers):
        if not _bus_log_level(bus):
            return
        _bus_logged(bus, event, "EVENT_RECEIPT")
        # Managed rules (an archive's) are not logged, as on AWS.
        matched = [r for r, yes in zip(rules, answers) if yes and not getattr(r, "managed_by", None)]
        for rule in matched:
            _bus_logged(bus, event, "RULE_MATCH", {"rule_arn": rule.arn})
        if not matched:
            _bus_logged(bus, event, "NO_STANDARD_RULES_MATCHED")

    def send_where_matched(rules, event, send, answers=None, bus=None):
        """Sends `event` (moto's message, its time in epoch seconds) to each
        of `rules` it matches, `send(rule, copy)`, logging the steps on
        `bus` when it logs; without a judge, to every rule, as moto's own
        matcher then decides."""
        if answers is None:
            answers = verdicts(event, patterns_of(rules))
        if answers is None:
            for rule in rules:
                send(rule, copy.deepcopy(event))
            return
        logged_matches(bus, event, rules, answers)
        # moto's delivery checks the pattern again: it reads the answer
        # given here for that rule's pattern, this event.
        saved = getattr(here, "answers", None)
        here.answers = dict(saved or {})
        here.answers.update({id(rule.event_pattern): yes for rule, yes in zip(rules, answers)})
        try:
            for rule, yes in zip(rules, answers):
                if yes:
                    send(rule, copy.deepcopy(event))
        finally:
            here.answers = saved

    # The module's one sender for the other patches (replays, a bus
    # target's forwarding), which run after this one is installed.
    global _send_where_matched
    _send_where_matched = send_where_matched

    moto_matches = models.EventPattern.matches_event

    def matches_event(self, event):
        known = (getattr(here, "answers", None) or {}).get(id(self))
        if known is not None:
            return known
        answer = verdicts(event, [self._raw_pattern])
        return moto_matches(self, event) if answer is None else answer[0]

    models.EventPattern.matches_event = matches_event

    put_rule = models.EventsBackend.put_rule
    rule_params = inspect.signature(put_rule)

    @functools.wraps(put_rule)
    def put_valid_rule(self, *args, **kwargs):
        bound = rule_params.bind(self, *args, **kwargs)
        validated(bound.arguments.get("event_pattern"))
        return put_rule(self, *args, **kwargs)

    models.EventsBackend.put_rule = put_valid_rule

    create_archive = models.EventsBackend.create_archive

    @functools.wraps(create_archive)
    def create_valid_archive(self, name, source_arn, description, event_pattern, retention):
        validated(event_pattern)
        return create_archive(self, name, source_arn, description, event_pattern, retention)

    models.EventsBackend.create_archive = create_valid_archive

    def refusal(entry):
        """An entry's error, as moto and AWS answer it, or None."""
        for field in ("Source", "DetailType", "Detail"):
            if not entry.get(field):
                message = f"Parameter {field} is not valid. Reason: {field} is a required argument."
                return {"ErrorCode": "InvalidArgument", "ErrorMessage": message}
        if entry["Source"].startswith("aws."):
            return {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."}
        try:
            json.loads(entry["Detail"])
        except ValueError:
            return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
        return None

    def put_events(self, events):
        if len(events) > 10:
            raise ValidationException(
                "1 validation error detected: "
                "Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: "
                "Member must have length less than or equal to 10"
            )
        entries, accepted = [], []
        for entry in events:
            refused = refusal(entry)
            if refused:
                entries.append(refused)
                continue
            message = copy.deepcopy(models._BASE_EVENT_MESSAGE)
            message.update(
                {
                    "id": str(random.uuid4()),
                    "detail-type": entry["DetailType"],
                    "source": entry["Source"],
                    "account": self.account_id,
                    "time": entry.get("Time", unix_time()),
                    "region": self.region_name,
                    "resources": entry.get("Resources", []),
                    "detail": json.loads(entry["Detail"]),
                    "ingestion-time": unix_time(),
                }
            )
            entries.append({"EventId": message["id"]})
            bus = self.describe_event_bus(self._normalize_event_bus_arn(entry.get("EventBusName")))
            accepted.append((message, list(bus.rules.values()), bus))
        # The call's entries asked at once, then delivered in order; the
        # buses' log records they made are handed in once, at the end.
        found = verdicts_of([(message, patterns_of(rules)) for message, rules, _ in accepted])
        with _BusLogBatch():
            for i, (message, rules, bus) in enumerate(accepted):
                answers = None if found is None else found[i]
                send = lambda rule, sent: rule.send_to_targets(sent)
                send_where_matched(rules, message, send, answers, bus)
        return entries

    models.EventsBackend.put_events = put_events

    moto_test = EventsHandler.test_event_pattern

    def test_event_pattern(self):
        raw = self._get_param("EventPattern")
        answer = _ask_the_judge("/pattern", {"pattern": raw or ""})
        if answer is None:
            return moto_test(self)
        if not answer.get("valid", False):
            raise InvalidEventPatternException(reason=answer.get("reason") or "invalid")
        event = _event_to_test(self)
        matched = verdicts(event, [raw])
        return json.dumps({"Result": bool(matched and matched[0])}), self.response_headers

    EventsHandler.test_event_pattern = test_event_pattern


def _disabled_rules_deliver_nothing():
    """A rule whose State is DISABLED still delivered every matching event
    to its targets (moto keeps the state and never reads it). On AWS it
    delivers nothing, replays included, until it is enabled again."""
    # changes: events:PutEvents
    from moto.events import models

    send = models.Rule.send_to_targets

    def send_to_targets(self, *args, **kwargs):
        if self.state == "DISABLED":
            return None
        return send(self, *args, **kwargs)

    models.Rule.send_to_targets = send_to_targets


def _input_paths_parsed_once():
    """moto's EventBridge parsed each target's input paths with jsonpath_ng
    for every event it delivered, and jsonpath_ng builds its grammar on
    each parse: 440 ms of every PutEvents of ten entries on a bus with nine
    rules, 30 s to put a burst of 1,000 events (measured with cProfile).
    A path's parse is kept by its text: the parsed path holds no event, so
    each event is still read by its own `find`."""
    # changes: events:PutEvents
    import functools

    import jsonpath_ng.ext

    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=4096)(jsonpath_ng.ext.parse)
