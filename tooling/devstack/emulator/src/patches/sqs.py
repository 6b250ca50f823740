# SQS: receives, sends and queue policies.


def _receives_read_retention_directly():
    """ReceiveMessage checks each message it hands out against the queue's
    retention period, and moto 5.2 reads that one number through
    GetQueueAttributes: every attribute of the queue, the approximate
    message counts among them, each a walk over every message with a clock
    read per message. A receive of 10 from a queue of 500 walked the queue
    about 30 times: receiving and deleting 500 messages (10 at a time)
    took 20.3 s on an idle server, 2.5 s with this. The number is read
    here from the queue itself, so the check, and the answer, are the
    same."""
    # changes: sqs:ReceiveMessage
    from moto.core.utils import unix_time
    from moto.sqs import models

    def is_message_valid_based_on_retention_period(self, queue_name, message):
        retention_period = self.get_queue(queue_name).message_retention_period
        retain_until = int(retention_period) + message.sent_timestamp / 1000
        return retain_until > unix_time()

    models.SQSBackend.is_message_valid_based_on_retention_period = (
        is_message_valid_based_on_retention_period
    )


def _visible_messages_read_the_clock_once():
    """Every ReceiveMessage walks `Queue.messages`: a list of the queue's
    visible, undelayed messages, which moto builds by reading the clock
    twice per message, in flight or not. A tap queue holding a burst keeps
    its messages in flight (15 minutes) until each is done, so every poll
    paid two clock reads for each of them. The list here is the same, with
    one clock read per walk: a message is visible once the walk's time is
    past its `visible_at`, and undelayed once it is not before its
    `delayed_until`, as moto's properties compare them."""
    # changes: sqs:ReceiveMessage
    from moto.core.utils import unix_time_millis
    from moto.sqs import models

    def messages(self):
        now = unix_time_millis()
        return [
            m for m in self._messages if now > m.visible_at and now >= m.delayed_until
        ]

    models.Queue.messages = property(messages)


def _deletes_take_the_queue_lock():
    """DeleteMessage rebuilds the queue's list of messages from a copy and
    puts it back, and moto does it without the queue's lock, which a send
    takes to append: a send landing in between was dropped (never
    received), and of two deletes at once one put back the other's
    message, kept in flight until its visibility timeout ran out (a tap's
    poller deletes each message once its function has run, while
    EventBridge sends more: under the test command's load a burst lost one
    event in 600). Each delete here holds the lock a send holds."""
    # changes: sqs:DeleteMessage sqs:DeleteMessageBatch
    from moto.sqs import models

    delete = models.Queue.delete_message

    def delete_message(self, receipt_handle):
        with self._messages_lock:
            return delete(self, receipt_handle)

    models.Queue.delete_message = delete_message


def _queue_policies_from_cloudformation():
    """AWS::SQS::QueuePolicy has no model in moto's CloudFormation, which
    skipped it: a queue was deployed without the policy that lets SNS
    deliver to it. This model sets each named queue's Policy, as
    CloudFormation does, so the policy is there to be judged."""
    from moto.sqs.models import sqs_backends

    def apply(properties, account_id, region_name):
        backend = sqs_backends[account_id][region_name]
        for url in properties["Queues"]:
            backend.set_queue_attributes(
                url.rsplit("/", 1)[-1], {"Policy": _policy_document(properties)}
            )

    return _model("AWS::SQS::QueuePolicy", "moto.sqs.models", apply)


def _sends_do_not_count_the_queue():
    """SendMessage read the queue's attributes for one flag
    (ContentBasedDeduplication), and building them counts every message of
    the queue three ways, reading the clock twice per message: each send
    cost the queue's depth, 6.8 s of 8.3 s putting 500 events to two tap
    queues (cProfile). While a send runs on a thread, the three approximate
    counts, which it never reads, are not computed; GetQueueAttributes
    counts as before."""
    # changes: sqs:SendMessage sqs:SendMessageBatch
    import threading

    from moto.sqs import models

    sending = threading.local()
    send = models.SQSBackend.send_message

    def send_message(self, *args, **kwargs):
        sending.active = True
        try:
            return send(self, *args, **kwargs)
        finally:
            sending.active = False

    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        counted = getattr(models.Queue, name).fget

        def uncounted_while_sending(self, counted=counted):
            if getattr(sending, "active", False):
                return 0
            return counted(self)

        setattr(models.Queue, name, property(uncounted_while_sending))
    models.SQSBackend.send_message = send_message


def _queues_count_what_is_sent():
    """CloudWatch's `AWS/SQS` `NumberOfMessagesSent`, which moto does not
    record: every message added to a queue (SendMessage, each entry of a
    batch, SNS's and EventBridge's deliveries) counts one, in one datum per
    queue and second, as CloudWatch aggregates a second's sends. A
    deployment's DLQ alarm counts the letters sent while it runs, not the
    ones already waiting; anyone can ask GetMetricStatistics for it too."""
    # changes: sqs:SendMessage sqs:SendMessageBatch cloudwatch:GetMetricStatistics
    from datetime import datetime, timezone

    from moto.cloudwatch.models import MetricDatum, cloudwatch_backends
    from moto.sqs import models

    send = models.SQSBackend.send_message
    # The datum each queue's sends of the current second go to.
    latest = {}

    def send_message(self, *args, **kwargs):
        message = send(self, *args, **kwargs)
        queue = kwargs.get("queue_name") or args[0]
        # Naive UTC, as moto reads a request's StartTime and EndTime.
        second = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
        key = (self.account_id, self.region_name, queue)
        datum = latest.get(key)
        if datum is not None and datum.timestamp == second:
            datum.value += 1
            return message
        datum = MetricDatum(
            "AWS/SQS",
            "NumberOfMessagesSent",
            1.0,
            [{"Name": "QueueName", "Value": queue}],
            second,
            "Count",
        )
        cloudwatch_backends[self.account_id][self.region_name].metric_data.append(datum)
        latest[key] = datum
        return message

    models.SQSBackend.send_message = send_message
