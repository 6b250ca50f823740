# S3: bucket notifications, policies and CORS.


def _bucket_notifications_from_the_buckets_account():
    """A bucket's notifications go out from the bucket's own account, to
    the queues, topics and functions its configuration names there. moto
    sent them in the account of whoever wrote the object, so a write
    from another account (a presigned URL, which moto reads in the
    default account) notified a queue that is not there, and the event
    was lost."""
    from moto.s3 import notifications

    send = notifications.send_event

    def from_the_owner(account_id, event_name, bucket, key):
        return send(getattr(bucket, "account_id", account_id), event_name, bucket, key)

    notifications.send_event = from_the_owner


def _bucket_policies_from_cloudformation():
    """AWS::S3::BucketPolicy has no model in moto's CloudFormation, which
    skipped it: a bucket was deployed without its policy (the site bucket's
    grant to its CloudFront distribution, every bucket's TLS-only denial).
    This model puts the policy as PutBucketPolicy does, so it is there to be
    judged."""
    from moto.s3 import models
    from moto.utilities.utils import get_partition

    def apply(properties, account_id, region_name):
        backend = models.s3_backends[account_id][get_partition(region_name)]
        backend.put_bucket_policy(properties["Bucket"], _policy_document(properties).encode())

    return _model("AWS::S3::BucketPolicy", "moto.s3.models", apply)


def _bucket_policies_judged_by_the_local_cloud():
    """moto evaluates a bucket policy on object calls without its
    conditions: a TLS-only denial (Deny unless aws:SecureTransport) refused
    every call, the deploy's own uploads included. The local cloud judges
    bucket policies with their conditions (the gate for functions' calls,
    its CDN for CloudFront's reads, presigned uploads by their signer), so
    moto's evaluation is turned off."""
    # changes: s3:PutObject s3:GetObject s3:HeadObject s3:DeleteObject s3:ListObjectVersions
    from moto.iam.access_control import PermissionResult
    from moto.s3 import models

    models.FakeBucket.get_permission = lambda self, action, resource: PermissionResult.NEUTRAL


def _bucket_cors_from_cloudformation():
    """A bucket's CorsConfiguration in CloudFormation was ignored by moto's
    S3 model: the bucket had no CORS rule, and the local cloud could not
    judge a browser's upload by it. It is applied as PutBucketCors applies
    it, at creation and at each update."""
    from moto.s3 import models
    from moto.utilities.utils import get_partition

    def apply(bucket_name, properties, account_id, region_name):
        rules = properties.get("CorsConfiguration", {}).get("CorsRules")
        if rules is None:
            return
        backend = models.s3_backends[account_id][get_partition(region_name)]
        backend.put_bucket_cors(
            bucket_name,
            [
                {
                    "AllowedMethod": rule["AllowedMethods"],
                    "AllowedOrigin": rule["AllowedOrigins"],
                    "AllowedHeader": rule.get("AllowedHeaders", []),
                    "ExposeHeader": rule.get("ExposedHeaders", []),
                    **(
                        {"MaxAgeSeconds": str(rule["MaxAge"])}
                        if "MaxAge" in rule
                        else {}
                    ),
                }
                for rule in rules
            ],
        )

    _after_cloudformation(
        models.FakeBucket,
        lambda bucket, properties, account_id, region_name: apply(
            bucket.name, properties, account_id, region_name
        ),
    )
