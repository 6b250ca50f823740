# EventBridge: the bus's own log (`LogConfig`).


# An event bus's own log (`LogConfig`): each step's level, as the local bus
# plays EventBridge's event bus logging. The guide names the steps and says
# ERROR logs failures, INFO adds the major steps and TRACE every step; which
# step is which level is written here, not recorded from AWS.
_BUS_LOG_LEVELS = {"OFF": 0, "ERROR": 1, "INFO": 2, "TRACE": 3}


_BUS_LOG_STEPS = {
    "EVENT_RECEIPT": "INFO",
    "RULE_MATCH": "INFO",
    "NO_STANDARD_RULES_MATCHED": "TRACE",
    "INVOCATION_SUCCESS": "INFO",
    "INVOCATION_FAILURE": "ERROR",
}


def _bus_log_level(bus):
    """How much `bus` logs: 0 (OFF, or no bus) to 3 (TRACE)."""
    config = getattr(bus, "log_config", None) or {}
    return _BUS_LOG_LEVELS.get(config.get("Level", "OFF"), 0)


def _bus_logged(bus, event, step, details=None, error=None):
    """Logs `step` of `event` (moto's message) on `bus` when its `LogConfig`
    asks for that step's level: held until the running batch ends (a
    PutEvents call's or a replay's, `_BusLogBatch`: one question to the
    local cloud), or sent at once outside one. The event itself goes in only with `IncludeDetail: FULL`,
    its time as the text a target receives."""
    import time

    from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp

    level = _BUS_LOG_STEPS[step]
    if _bus_log_level(bus) < _BUS_LOG_LEVELS[level]:
        return
    details = dict(details or {})
    if bus.log_config.get("IncludeDetail") == "FULL":
        event = copy.deepcopy(event)
        if isinstance(event.get("time"), (int, float)):
            event["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(event["time"]))
        details["event"] = event
    record = {
        "resource_arn": bus.arn,
        "event_id": event.get("id", ""),
        "message_timestamp_ms": int(time.time() * 1000),
        "message_type": step,
        "log_level": level,
        "details": details,
    }
    if error:
        record["error"] = {"error_code": error[0], "error_message": error[1] or error[0]}
    pending = getattr(_bus_log_pending, "records", None)
    if pending is None:
        _ask_the_judge("/bus-log", {"records": [record]})
    else:
        pending.append(record)


class _BusLogBatch:
    """The bus log records made inside it are handed to the local cloud at
    its end, in one question (a PutEvents call's, a replay's); nested, the
    outer batch keeps them."""

    def __enter__(self):
        self.outer = getattr(_bus_log_pending, "records", None)
        _bus_log_pending.records = [] if self.outer is None else self.outer

    def __exit__(self, *_):
        records = _bus_log_pending.records
        _bus_log_pending.records = self.outer
        if records and self.outer is None:
            _ask_the_judge("/bus-log", {"records": records})


def _bus_log_config_by_api():
    """moto's EventBus has no LogConfig and moto has no UpdateEventBus:
    CreateEventBus took a LogConfig and dropped it, and UpdateEventBus
    answered that the action is not implemented. Now CreateEventBus keeps
    LogConfig, UpdateEventBus sets it (with Description, DeadLetterConfig
    and KmsKeyIdentifier, as AWS's API reference lists them) and answers
    the bus as it now is, and DescribeEventBus shows it: a bus whose log
    is turned on by API logs from its next event on."""
    # changes: events:CreateEventBus events:UpdateEventBus events:DescribeEventBus
    import json

    from moto.events.responses import EventsHandler

    create = EventsHandler.create_event_bus

    def create_event_bus(self):
        answer = create(self)
        config = self._get_param("LogConfig")
        if config:
            self.events_backend.describe_event_bus(self._get_param("Name")).log_config = config
        return answer

    describe = EventsHandler.describe_event_bus

    def describe_event_bus(self):
        body, headers = describe(self)
        bus = self.events_backend.describe_event_bus(self._get_param("Name"))
        config = getattr(bus, "log_config", None)
        if not config:
            return body, headers
        shown = json.loads(body)
        shown["LogConfig"] = config
        return json.dumps(shown), headers

    # What UpdateEventBus sets and answers: its parameter, the model's attribute.
    updated = [
        ("Description", "description"),
        ("DeadLetterConfig", "dead_letter_config"),
        ("KmsKeyIdentifier", "kms_key_identifier"),
        ("LogConfig", "log_config"),
    ]

    def update_event_bus(self):
        bus = self.events_backend.describe_event_bus(self._get_param("Name") or "default")
        for param, attribute in updated:
            value = self._get_param(param)
            if value is not None:
                setattr(bus, attribute, value)
        shown = {"Arn": bus.arn, "Name": bus.name}
        for param, attribute in updated:
            if getattr(bus, attribute, None):
                shown[param] = getattr(bus, attribute)
        return json.dumps(shown), self.response_headers

    EventsHandler.create_event_bus = create_event_bus
    EventsHandler.describe_event_bus = describe_event_bus
    EventsHandler.update_event_bus = update_event_bus


def _bus_of(rule):
    from moto.events import models

    return models.events_backends[rule.account_id][rule.region_name].event_buses.get(rule.event_bus_name)


def _bus_log_from_cloudformation():
    """`AWS::Events::EventBus`'s `LogConfig` (event bus logging, 2025) is
    kept on the bus, which moto's model dropped: the local bus then logs
    as it says (`_bus_logged`), into the local cloud's trail."""
    from moto.events import models

    def keep(bus, properties, account_id, region_name):
        bus.log_config = properties.get("LogConfig")

    _after_cloudformation(models.EventBus, keep)
