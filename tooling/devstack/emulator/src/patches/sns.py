# SNS: deliveries to queues, judged.


def _sns_asks_before_it_delivers_to_a_queue():
    """SNS delivers to an SQS subscription only if the queue's policy (and
    the queue's key policy, when it is encrypted) lets sns.amazonaws.com do
    it for that topic; otherwise AWS drops the message without an error to
    the publisher. moto delivered regardless. With DEVSTACK_JUDGE_URL set,
    each delivery is put to the local cloud's judge first, which answers
    whether it may go ahead (and says so in its trail when not)."""
    # changes: sns:Publish sns:PublishBatch
    from moto.sns import models

    publish = models.Subscription.publish

    def allowed(topic_arn, queue_arn):
        answer = _ask_the_judge("/delivery", {"topic_arn": topic_arn, "queue_arn": queue_arn})
        return answer is None or answer.get("allowed", False)

    def guarded(self, *args, **kwargs):
        if self.protocol == "sqs" and not allowed(self.topic.arn, self.endpoint):
            return None
        return publish(self, *args, **kwargs)

    models.Subscription.publish = guarded
