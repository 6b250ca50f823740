# EventBridge: buses in their owners' accounts, their policies, and
# rules read from a snapshot.


def _buses_in_their_owners_accounts():
    """A bus named by its ARN is the bus of the account the ARN names, as
    on AWS; moto cut the ARN to its name and used the caller's own bus of
    that name, or none. Now each rule operation and each PutEvents entry
    naming another account's bus acts on that account's bus, once the
    bus's policy lets the caller's account (the local cloud's judge
    answers, as IAM judges the resource's side); a rule made there is the
    bus owner's, created by the caller (DescribeRule's CreatedBy, which
    `events:creatorAccount` reads). An event keeps its producer's
    `account` wherever it goes, and a bus target forwards it once, with
    its id and time: AWS sends on no event that came from another bus.
    A target that is another account's bus needs the role EventBridge
    puts events with, as AWS requires of targets made since 2023. A queue
    target is the queue of the account its ARN names (moto looked it up in
    the rule's); a topic target is published to, and a function target
    invoked asynchronously through the local cloud's Lambda API (for
    both, moto raised NotImplementedError, a 500 for the whole
    PutEvents). Every delivery to a bus, a topic, a function or a queue,
    in the rule's account or another, is put to the judge first (moto
    sent to a queue of the rule's own account unasked, so a team's rule
    on the shared bus wrote into the platform's queues) (a target with a role as that
    role, else the queue's, topic's or function's policy for EventBridge
    and the rule);
    an undelivered event goes to its target's dead-letter queue with
    EventBridge's attributes (RULE_ARN, TARGET_ARN, ERROR_CODE,
    ERROR_MESSAGE), or is lost, as on AWS, with a line on the engine's
    log."""
    # changes: events:PutEvents events:DescribeEventBus events:PutRule events:PutTargets events:RemoveTargets events:DeleteRule events:DescribeRule events:EnableRule events:DisableRule events:ListTargetsByRule
    import copy
    import inspect
    import threading

    from moto.core.exceptions import JsonRESTError
    from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
    from moto.events import models
    from moto.events.exceptions import ValidationException
    import os
    import urllib.error
    import urllib.parse
    import urllib.request

    from moto.awslambda.models import lambda_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    here = threading.local()

    def owner_of(backend, bus):
        """The backend of the account whose bus `bus` names, when that is
        another account's."""
        if not isinstance(bus, str) or not bus.startswith("arn:"):
            return None
        _, _, _, region, account, _ = bus.split(":", 5)
        if (account, region) == (backend.account_id, backend.region_name):
            return None
        return models.events_backends[account][region]

    def rule_arn(owner, bus, name):
        bus_name = bus.rsplit("/", 1)[-1]
        path = f"rule/{name}" if bus_name == "default" else f"rule/{bus_name}/{name}"
        return f"arn:aws:events:{owner.region_name}:{owner.account_id}:{path}"

    def consent(caller, action, resource, context, policy):
        answer = _ask_the_judge(
            "/events",
            {"account": caller, "action": action, "resource": resource, "context": context, "policy": policy},
        )
        if answer is not None and not answer.get("allowed", False):
            raise JsonRESTError("AccessDeniedException", answer.get("message", ""))

    def roles_for_targets_elsewhere(owner, targets):
        """A target in another account (a bus, or since 2025 a queue, a
        topic, a function) is reached as a role EventBridge assumes."""
        for target in targets or []:
            arn = target.get("Arn", "")
            parts = arn.split(":", 5)
            elsewhere = (
                len(parts) == 6
                and parts[2] in ("events", "sqs", "sns", "lambda")
                and parts[4] not in ("", owner.account_id)
            )
            if elsewhere and not target.get("RoleArn"):
                raise ValidationException(f"RoleArn is required for target {arn}.")

    def direct_targets_from_the_owner(caller, owner, targets):
        """A direct target in another account than the bus's (a queue, a
        topic, a function, a stream, an API: EventBridge's 2025 delivery
        across accounts) is added by the bus's own account only; another
        account's rule on the bus reaches its own account through a bus
        of its own. The refusal's text is the local cloud's: AWS's is not
        recorded."""
        if caller.account_id == owner.account_id:
            return
        for target in targets or []:
            parts = target.get("Arn", "").split(":", 5)
            direct = len(parts) == 6 and parts[2] in ("sqs", "sns", "lambda", "kinesis", "execute-api")
            if direct and parts[4] != owner.account_id:
                raise ValidationException(
                    f"Target {target['Arn']} is in another account than the event bus's: only the bus's "
                    f"account ({owner.account_id}) may add such a target; send to a bus in your account instead."
                )

    def on_the_owners_bus(operation, action, name_param):
        original = getattr(models.EventsBackend, operation)
        # The parameters after `self`, as the handler passes them (a
        # paginated operation's wrapper takes its paging keywords too).
        params = list(inspect.signature(original).parameters)[1:]

        def routed(self, *args, **kwargs):
            def argument(name):
                if name in kwargs:
                    return kwargs[name]
                at = params.index(name)
                return args[at] if at < len(args) else None

            bus = argument("event_bus_arn")
            name = argument(name_param)
            owner = owner_of(self, bus) or self
            if operation == "put_targets":
                roles_for_targets_elsewhere(owner, argument("targets"))
                direct_targets_from_the_owner(self, owner, argument("targets"))
            bus_name = (bus or "default").rsplit("/", 1)[-1]
            existing = owner.event_buses.get(bus_name)
            existing = existing.rules.get(name) if existing else None
            # A rule keeps its creator, whoever changes it later.
            creator = existing.created_by if existing else self.account_id
            if owner is not self:
                arn = rule_arn(owner, bus, name)
                on = owner.event_buses.get(bus_name)
                context = {"events:creatorAccount": creator}
                consent(self.account_id, action, arn, context, on.policy if on else None)
            answer = original(owner, *args, **kwargs)
            if operation == "put_rule":
                answer.created_by = creator
            return answer

        setattr(models.EventsBackend, operation, routed)

    def delete(self, account_id, region_name):
        """A stack's rule on another account's bus is deleted there, as
        its creator (moto deleted a rule of that name in the stack's
        account, and left this one)."""
        bus = f"arn:aws:events:{self.region_name}:{self.account_id}:event-bus/{self.event_bus_name}"
        self.remove_targets([t["Id"] for t in self.targets])
        models.events_backends[account_id][region_name].delete_rule(name=self.name, event_bus_arn=bus)

    models.Rule.delete = delete
    create_rule = models.Rule.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        """A rule whose targets are refused is not left behind: the
        stack's rollback never knew it was made."""
        try:
            return create_rule(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        except JsonRESTError:
            properties = cloudformation_json["Properties"]
            try:
                models.events_backends[account_id][region_name].delete_rule(
                    name=resource_name, event_bus_arn=properties.get("EventBusName")
                )
            except JsonRESTError:
                pass
            raise

    models.Rule.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)

    for operation, action, name_param in [
        ("put_rule", "events:PutRule", "name"),
        ("delete_rule", "events:DeleteRule", "name"),
        ("describe_rule", "events:DescribeRule", "name"),
        ("enable_rule", "events:EnableRule", "name"),
        ("disable_rule", "events:DisableRule", "name"),
        ("put_targets", "events:PutTargets", "name"),
        ("remove_targets", "events:RemoveTargets", "name"),
        ("list_targets_by_rule", "events:ListTargetsByRule", "rule_id"),
    ]:
        on_the_owners_bus(operation, action, name_param)

    describe_event_bus = models.EventsBackend.describe_event_bus

    def describe_the_owners_bus(self, name):
        owner = owner_of(self, name)
        if owner is None:
            return describe_event_bus(self, name)
        return describe_event_bus(owner, name.rsplit("/", 1)[-1])

    models.EventsBackend.describe_event_bus = describe_the_owners_bus

    put_events = models.EventsBackend.put_events

    def put_events_where_named(self, events):
        if len(events) > 10:
            return put_events(self, events)
        answers = [None] * len(events)
        owners = [owner_of(self, entry.get("EventBusName")) for entry in events]
        # One entry the bus's policy refuses refuses the whole call.
        for entry, owner in zip(events, owners):
            if owner is not None:
                keys = {"events:source": "Source", "events:detail-type": "DetailType"}
                context = {key: entry.get(field) or "" for key, field in keys.items()}
                bus = owner.event_buses.get(entry["EventBusName"].rsplit("/", 1)[-1])
                policy = bus.policy if bus else None
                consent(self.account_id, "events:PutEvents", entry["EventBusName"], context, policy)
        mine = [i for i, owner in enumerate(owners) if owner is None]
        for i, (entry, owner) in enumerate(zip(events, owners)):
            if owner is None:
                continue
            here.producer = self.account_id
            try:
                answers[i] = put_events(owner, [entry])[0]
            finally:
                here.producer = None
        if mine:
            for i, answer in zip(mine, put_events(self, [events[i] for i in mine])):
                answers[i] = answer
        return answers

    models.EventsBackend.put_events = put_events_where_named

    # A target's event carries its `account`, as AWS's does (moto's
    # default template left it out).
    parser = models.EventTemplateParser
    parser.DEFAULT_EVENT_INPUT_TEMPLATE = parser.DEFAULT_EVENT_INPUT_TEMPLATE.replace(
        '"version": "0",', '"version": "0", "account": "<account>",'
    )

    send = models.Rule.send_to_targets

    def elsewhere(rule, target):
        """Whether `target` is a bus, a topic, a function or a queue, in any
        account: the targets delivered here, each judged as AWS judges it
        (a queue in the rule's own account too: its policy must let
        EventBridge in for the rule, or the event goes to the target's
        dead-letter queue)."""
        parts = target["Arn"].split(":", 5)
        if len(parts) < 6:
            return False
        if parts[2] == "events" and parts[5].startswith("event-bus/"):
            return True
        return parts[2] in ("sns", "lambda", "sqs")

    def send_to_targets(self, original_event, transform_input=True):
        producer = getattr(here, "producer", None)
        if producer:
            original_event["account"] = producer
        targets = list(self.targets)
        guarded = [t for t in targets if elsewhere(self, t)]
        if not guarded:
            return send(self, original_event, transform_input)
        # moto's own delivery, on a copy holding the other targets: the
        # rule itself is never changed while a PutTargets may run.
        rest = copy.copy(self)
        rest.targets = [t for t in targets if t not in guarded]
        send(rest, original_event, transform_input)
        if not self.event_pattern.matches_event(original_event):
            return None
        bus = _bus_of(self)
        for target in guarded:
            failure = deliver(self, target, original_event, transform_input)
            step = "INVOCATION_FAILURE" if failure else "INVOCATION_SUCCESS"
            details = {"rule_arn": self.arn, "target_arn": target["Arn"]}
            _bus_logged(bus, original_event, step, details, failure)
            if failure:
                dead_letter(self, target, original_event, *failure)
        return None

    def deliver(rule, target, event, transform_input):
        """Delivers `event` to `target` (shaped by its input transformer,
        unless a replay says otherwise), or says why not: (AWS's error
        code, message)."""
        _, _, service, region, account, rest = target["Arn"].split(":", 5)
        if service in ("sns", "sqs"):
            if service == "sns":
                found = sns_backends[account][region].topics.get(target["Arn"])
            else:
                found = sqs_backends[account][region].queues.get(rest)
            if found is None:
                return "NO_RESOURCE", f"{target['Arn']} does not exist."
            action = "sns:Publish" if service == "sns" else "sqs:SendMessage"
            failure = consented(rule, target, action, event, found.policy)
            if failure:
                return failure
            body = shaped(target, event, transform_input)
            if service == "sns":
                found.publish(body)
            else:
                group = (target.get("SqsParameters") or {}).get("MessageGroupId")
                sqs_backends[account][region].send_message(queue_name=rest, message_body=body, group_id=group)
            return None
        if service == "lambda":
            return invoke(rule, target, event, transform_input)
        if getattr(here, "forwarded", False):
            return "THIRD_ACCOUNT_HOP_DETECTED", "An event from another bus is not sent on to a third."
        bus = models.events_backends[account][region].event_buses.get(rest.split("/", 1)[1])
        if bus is None:
            return "NO_RESOURCE", f"Event bus {target['Arn']} does not exist."
        # EventBridge puts the event as the target's role (its trust, its
        # policies and, across accounts, the bus's policy are judged);
        # without a role, as the rule's account, by the bus's policy.
        if target.get("RoleArn") or account != rule.account_id:
            failure = consented(rule, target, "events:PutEvents", event, bus.policy)
            if failure:
                return failure
        here.forwarded = True
        try:
            send = lambda other, sent: other.send_to_targets(sent)
            _send_where_matched(list(bus.rules.values()), event, send, bus=bus)
        finally:
            here.forwarded = False
        return None

    def invoke(rule, target, event, transform_input):
        """Invokes a function target asynchronously, as EventBridge does,
        through the local cloud's Lambda API (the router at MOTO_PORT
        forwards an Invoke there), once the function's policy, or across
        accounts the target's role with it, allows it."""
        _, _, _, region, account, rest = target["Arn"].split(":", 5)
        name = rest.split(":")[1] if rest.startswith("function:") else rest
        try:
            function = lambda_backends[account][region].get_function(name)
        except Exception:
            return "NO_RESOURCE", f"Function {target['Arn']} does not exist."
        statements = function.policy.statements
        policy = json.dumps({"Version": "2012-10-17", "Statement": statements}) if statements else None
        failure = consented(rule, target, "lambda:InvokeFunction", event, policy)
        if failure:
            return failure
        port = os.environ.get("MOTO_PORT")
        if not port:
            return "SDK_CLIENT_ERROR", "No local Lambda API to invoke the function with."
        arn = urllib.parse.quote(target["Arn"], safe="")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/2015-03-31/functions/{arn}/invocations",
            data=shaped(target, event, transform_input).encode(),
            headers={"x-amz-invocation-type": "Event", "x-devstack-invoked-by": "EventBridge"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10):
                return None
        except urllib.error.HTTPError as e:
            return "SDK_CLIENT_ERROR", f"Lambda answered {e.code}: {e.read().decode(errors='replace')}"
        except OSError as e:
            return "SDK_CLIENT_ERROR", str(e)

    def consented(rule, target, action, event, policy):
        """Whether EventBridge may do `action` on `target` for `rule`: as
        the target's role when it has one (its trust, its policies, the
        resource's policy across accounts), else as the service, by the
        resource's `policy` (a bus, by its policy for the rule's account).
        None, or (AWS's error code, message)."""
        role = target.get("RoleArn")
        if role or action == "events:PutEvents":
            keys = {"events:source": "source", "events:detail-type": "detail-type"}
            question = {
                "account": rule.account_id,
                "action": action,
                "resource": target["Arn"],
                "context": {key: event.get(field) or "" for key, field in keys.items()},
                "role": role,
                "rule": rule.arn,
                "policy": policy,
            }
            refused = _ask_the_judge("/events", question)
        else:
            question = {"rule": rule.arn, "action": action, "resource": target["Arn"], "policy": policy}
            refused = _ask_the_judge("/target", question)
        if refused and not refused.get("allowed", False):
            return refused.get("code") or "NO_PERMISSIONS", refused.get("message", "")
        return None

    def shaped(target, event, transform_input):
        """The body a target receives, as moto's own delivery shapes it:
        the target's input transformer, or the default template."""
        if not transform_input:
            return as_sent(event)
        transformer = target.get("InputTransformer") or {}
        body = models.EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,
        )
        return body if isinstance(body, str) else as_sent(body)

    def as_sent(event):
        """The event as a queue receives it: its time as text."""
        sent = copy.deepcopy(event)
        if isinstance(sent.get("time"), (int, float)):
            sent["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(sent["time"]))
        return json.dumps(sent)

    def dead_letter(rule, target, event, code, message):
        """An undelivered event goes to its target's dead-letter queue, with
        the attributes EventBridge gives it, if the queue's policy lets
        EventBridge in for the rule; otherwise it is lost, as on AWS, and
        the trail says so."""
        arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        print(f"devstack events: {rule.arn} did not deliver to {target['Arn']}: {code}: {message}", file=sys.stderr)
        if not arn:
            return
        _, _, _, region, account, name = arn.split(":", 5)
        queue = sqs_backends[account][region].queues.get(name)
        if queue is None:
            return
        refused = _ask_the_judge(
            "/target",
            {"rule": rule.arn, "action": "sqs:SendMessage", "resource": arn, "policy": queue.policy},
        )
        if refused and not refused.get("allowed", False):
            return
        text = lambda value: {"DataType": "String", "StringValue": value}
        attributes = {
            "RULE_ARN": text(rule.arn),
            "TARGET_ARN": text(target["Arn"]),
            "ERROR_CODE": text(code),
            "ERROR_MESSAGE": text(message or code),
        }
        sqs_backends[account][region].send_message(
            queue_name=name, message_body=as_sent(event), message_attributes=attributes
        )

    models.Rule.send_to_targets = send_to_targets


def _bus_policies_from_cloudformation():
    """AWS::Events::EventBusPolicy has no model in moto's CloudFormation,
    which skipped it: the shared bus was deployed with no policy, so no
    other account's call could be judged by it. This model adds the
    statement to the bus's policy as PutPermission does, and takes it away
    with its stack, as RemovePermission does."""
    from moto.events import models

    def apply(properties, account_id, region_name):
        backend = models.events_backends[account_id][region_name]
        bus = backend.describe_event_bus(properties.get("EventBusName") or "default")
        statement = dict(properties["Statement"])
        statement["Sid"] = properties["StatementId"]
        statement.setdefault("Resource", bus.arn)
        statement.setdefault("Principal", "*")
        bus._statements[statement["Sid"]] = models.EventBusPolicyStatement.from_dict(statement)
        return properties["StatementId"]

    def remove(properties, account_id, region_name):
        backend = models.events_backends[account_id][region_name]
        bus = backend.event_buses.get(properties.get("EventBusName") or "default")
        if bus is not None:
            bus._statements.pop(properties["StatementId"], None)

    return _model("AWS::Events::EventBusPolicy", "moto.events.models", apply, delete=remove)


def _buses_referenced_by_name():
    """`Ref` of an AWS::Events::EventBus is its name on AWS. moto's bus has
    no physical id, so its CloudFormation handed the model object itself to
    whatever referenced it (a rule's EventBusName), which then failed."""
    from moto.events import models

    models.EventBus.physical_resource_id = property(lambda self: self.name)


def _rules_read_from_a_snapshot():
    """moto's server answers each request on a thread of its own, and a
    PutEvents walked its bus's rules while another request put or deleted
    one there: `OrderedDict mutated during iteration` half-way through,
    after some rules had delivered, so the 500 made the SDK send the
    event again and those rules' targets got it twice. Each walk now
    reads the rules as they were when it began, as AWS matches an event
    against the rules of the moment."""
    from collections import OrderedDict

    from moto.events import models

    class Rules(OrderedDict):
        def values(self):
            return list(super().values())

        def items(self):
            return list(super().items())

    init = models.EventBus.__init__

    def with_rules(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.rules = Rules(self.rules)

    models.EventBus.__init__ = with_rules
