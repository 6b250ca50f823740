# Lambda and Step Functions: permissions, principals and task roles.


def _lambda_permissions_from_cloudformation():
    """moto's CloudFormation put a permission's properties into the
    function's policy as they came, FunctionName among them, which no
    statement of AWS's GetPolicy has: the statement is made as AddPermission
    makes it. The local cloud judges a rule's and a bucket's invocations by
    that policy."""
    import json

    from moto.awslambda import models

    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = dict(cloudformation_json["Properties"])
        backend = models.get_backend(account_id, region_name)
        function = backend.get_function(properties.pop("FunctionName"))
        function.policy.add_statement(raw=json.dumps(properties))
        return cls(region=region_name)

    models.Permission.create_from_cloudformation_json = classmethod(
        create_from_cloudformation_json
    )


def _lambda_principals_as_aws_writes_them():
    """A function policy's principal named by an account id or an IAM ARN
    stayed a bare string in moto's statement (only a service, or an ARN
    ending in `:root`, was wrapped), which no IAM evaluator reads as a
    principal: a cross-account grant to a role never matched. AWS writes
    an account id as `{"AWS": "arn:aws:iam::<id>:root"}` and an ARN as
    `{"AWS": <arn>}` (AddPermission, GetPolicy)."""
    # changes: lambda:AddPermission lambda:GetPolicy
    from moto.awslambda import policy

    formatter = policy.Policy.principal_formatter

    def principal_formatter(self, obj):
        if isinstance(obj, str) and obj.isdigit() and len(obj) == 12:
            return {"AWS": f"arn:aws:iam::{obj}:root"}
        if isinstance(obj, str) and obj.startswith("arn:"):
            return {"AWS": obj}
        return formatter(self, obj)

    policy.Policy.principal_formatter = principal_formatter


def _tasks_name_their_execution_role():
    """moto's interpreter calls Lambda for a task with fixed keys, whatever
    role the execution runs as; AWS invokes as that role, which must be
    allowed lambda:InvokeFunction. Each task's call names the role in a
    header for the local cloud's router, which judges the invocation as
    that role."""
    # changes: states:StartExecution
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        lambda_eval_utils,
    )

    made = lambda_eval_utils.boto_client_for

    def boto_client_for(region, service, state_credentials=None):
        client = made(region=region, service=service, state_credentials=state_credentials)
        role = getattr(state_credentials, "role_arn", None)
        if role:

            def name_the_role(request, **kwargs):
                request.headers["x-devstack-execution-role"] = role

            client.meta.events.register("before-sign.lambda", name_the_role)
        return client

    lambda_eval_utils.boto_client_for = boto_client_for
