# IAM and KMS: role and key policies, signing keys.


def _role_policies_as_json():
    """A role's inline policies from CloudFormation were kept as moto got
    them, a dict, and GetRolePolicy answered Python's repr of it, which no
    JSON reader takes (AWS answers the JSON, URL-encoded): they are kept as
    JSON text, as PutRolePolicy keeps them. And a stack update of a role
    applied only its description: its inline policies are replaced too, as
    CloudFormation replaces them (the local cloud judges calls by them)."""
    import json

    from moto.iam import models

    put = models.Role.put_policy

    def put_policy(self, policy_name, policy_json):
        if not isinstance(policy_json, str):
            policy_json = json.dumps(policy_json)
        put(self, policy_name, policy_json)

    def replace_policies(role, properties, account_id, region_name):
        role.policies.clear()
        for policy in properties.get("Policies", []):
            role.put_policy(policy["PolicyName"], policy["PolicyDocument"])

    models.Role.put_policy = put_policy
    _after_cloudformation(models.Role, replace_policies, on_create=False)


def _key_policies_as_json():
    """A key's policy from CloudFormation was kept as a dict, and every
    call moto checks against it (DescribeKey, GetKeyPolicy) failed with a
    500: it is kept as JSON text, as CreateKey keeps it."""
    import json

    from moto.kms import models

    create = models.KmsBackend.create_key

    def create_key(self, policy, *args, **kwargs):
        if policy is not None and not isinstance(policy, str):
            policy = json.dumps(policy)
        return create(self, policy, *args, **kwargs)

    models.KmsBackend.create_key = create_key


def _role_managed_policies_from_cloudformation():
    """moto's CloudFormation ignored a role's ManagedPolicyArns, where SAM
    puts the AWS managed policy of each event source (a stream's reads come
    from AWSLambdaDynamoDBExecutionRole): they are attached as
    CloudFormation attaches them, replaced on update and detached before
    the role is deleted. An AWS managed
    policy is made from the copy moto ships when first named (moto loads
    all 1,500 only on request, for every account)."""
    import json

    from moto.iam import models
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.utilities.utils import get_partition

    shipped = {}

    def attach(role, properties, account_id, region_name):
        backend = models.iam_backends[account_id][get_partition(region_name)]
        for arn in list(role.managed_policies):
            backend.detach_role_policy(arn, role.name)
        for arn in properties.get("ManagedPolicyArns", []):
            prefix = f"arn:{get_partition(region_name)}:iam::aws:policy/"
            if arn.startswith(prefix) and arn not in backend.managed_policies:
                if not shipped:
                    shipped.update(json.loads(aws_managed_policies_data))
                name = arn.rsplit("/", 1)[-1]
                if name in shipped:
                    policy = models.AWSManagedPolicy.from_data(
                        name, account_id, region_name, shipped[name]
                    )
                    backend.managed_policies[policy.arn] = policy
            # An unknown policy fails the stack, as on AWS.
            backend.attach_role_policy(arn, role.name)
        role.attached_by_its_stack = list(properties.get("ManagedPolicyArns", []))

    _after_cloudformation(models.Role, attach)

    # What the stack attached goes before its role, as CloudFormation
    # detaches a role's managed policies to delete it: moto refused the
    # delete (DeleteConflict), so no such stack could be deleted or
    # rolled back.
    delete = models.Role.delete_from_cloudformation_json.__func__

    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = models.iam_backends[account_id][get_partition(region_name)]
        for role in list(backend.roles.values()):
            if role.name == resource_name:
                attached = getattr(role, "attached_by_its_stack", [])
                for arn in [a for a in attached if a in role.managed_policies]:
                    backend.detach_role_policy(arn, role.name)
        return delete(cls, resource_name, cloudformation_json, account_id, region_name)

    models.Role.delete_from_cloudformation_json = classmethod(delete_from_cloudformation_json)


def _signing_keys_made_once():
    """moto makes a 2048-bit RSA key pair where nothing reads it: for every
    KMS key, the symmetric ones included (its `generate_private_key`
    falls back to RSA for a spec it does not know as asymmetric), and for
    every SNS subscription the first time it delivers (the key that signs
    its notifications). Each pair took about 45 ms of CPU, and making them
    was 7% of all the CPU of the local cloud's own tests (perf, its
    callers in cryptography's `generate_private_key`). Here the engine
    makes one pair before it forks: every symmetric KMS key holds it
    (moto's Sign and Verify refuse a symmetric key before reading it), and
    every subscription signs with it, as SNS signs with one key per Region
    on AWS. An asymmetric KMS key still gets a pair of its own."""
    from moto.kms import models as kms
    from moto.kms.utils import KeySpec, RSAPrivateKey
    from moto.sns import models as sns

    shared = RSAPrivateKey(key_size=2048)
    generate = kms.generate_private_key
    asymmetric = set(KeySpec.rsa_key_specs()) | set(KeySpec.ecc_key_specs()) | {KeySpec.SM2.value}

    def private_key_for(key_spec):
        return generate(key_spec) if key_spec in asymmetric else shared

    kms.generate_private_key = private_key_for
    sns.Subscription.private_key = lambda self: shared.private_key
