# EventBridge: replays.


def _replays_keep_to_their_window_and_rules():
    """moto 5.2.5's StartReplay (`Replay.replay_events`) sent every event
    of the archive, whatever EventStartTime and EventEndTime said, to every
    rule of the bus, whatever Destination.FilterArns named, and gave each
    copy of an event a new id per rule. Measured: an event published with
    `Time` an hour before the window was replayed, and a rule the
    FilterArns left out received the replay.

    AWS replays only the events whose time (the event's `time`, PutEvents'
    `Time` when given) lies in the window, to the rules FilterArns names
    when it names any, else to every rule (StartReplay, ReplayDestination
    in the API reference). Here: the archived events in [EventStartTime,
    EventEndTime] (both epoch seconds as the SDK sends them; the archive
    keeps `time` as epoch seconds too), oldest first, each under one new
    id for all its rules, with moto's `replay-name`, to the enabled rules
    FilterArns allows. A rule whose target is an archive never receives a
    replay: the archive's managed rule already refuses events that carry
    `replay-name` (so moto's archive did not grow on a replay, measured),
    and moto's archive target would fail on an event it has not
    transformed. A bus that logs logs each replayed event's receipt and
    rule matches, in one batch per replay. DescribeReplay and ListReplays
    gain EventLastReplayedTime, the time of the last event replayed, which
    moto never set. The replay
    stays synchronous: COMPLETED once StartReplay has answered."""
    # changes: events:StartReplay events:DescribeReplay
    import datetime

    from moto.core.utils import unix_time
    from moto.events import models
    from moto.moto_api._internal import mock_random as random
    from moto.utilities.arns import parse_arn

    def seconds(value):
        """Epoch seconds of a time moto keeps as a number, or as text."""
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
        try:
            text = str(value).replace("Z", "+00:00")
            stamp = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=datetime.timezone.utc)
        return stamp.timestamp()

    def archives_into(rule):
        for target in rule.targets:
            arn = parse_arn(target["Arn"])
            if arn.service == "events" and not arn.resource_type:
                return True
        return False

    def replay_events(self, archive):
        backend = models.events_backends[self.account_id][self.region]
        bus = backend.describe_event_bus(self.destination["Arn"].split("/")[-1])
        named = self.destination.get("FilterArns") or None
        rules = [
            rule
            for rule in bus.rules.values()
            if rule.state == "ENABLED"
            and (named is None or rule.arn in named)
            and not archives_into(rule)
        ]
        start = seconds(self.event_start_time)
        end = seconds(self.event_end_time)
        window = []
        for event in archive.events:
            at = seconds(event.get("time"))
            if at is None:
                at = seconds(event.get("ingestion-time"))
            if at is not None and start <= at <= end:
                window.append((at, event))
        window.sort(key=lambda found: found[0])
        with _BusLogBatch():
            for at, event in window:
                replayed = dict(event)
                replayed["id"] = str(random.uuid4())
                replayed["replay-name"] = self.name
                send = lambda rule, event: rule.send_to_targets(event, transform_input=False)
                _send_where_matched(rules, replayed, send, bus=bus)
                self.event_last_replayed_time = at
        self.state = models.ReplayState.COMPLETED
        self.end_time = unix_time()

    describe_short = models.Replay.describe_short

    def describe_with_last_replayed(self):
        described = describe_short(self)
        last = getattr(self, "event_last_replayed_time", None)
        if last is not None:
            described["EventLastReplayedTime"] = last
        return described

    models.Replay.replay_events = replay_events
    models.Replay.describe_short = describe_with_last_replayed
