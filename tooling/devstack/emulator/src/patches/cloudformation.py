# CloudFormation: stack failures, stack operations and templates.


def _certificates_from_cloudformation():
    """AWS::CertificateManager::Certificate has no model in moto's
    CloudFormation, which skipped it: a custom domain's certificate was
    never requested. This model requests it from moto's ACM as
    RequestCertificate does (its DNS validation is not played: moto issues
    it), so the account holds it and ListCertificates shows it; its id is
    the certificate's ARN."""
    from moto.acm.models import acm_backends

    def request(properties, account_id, region_name):
        return acm_backends[account_id][region_name].request_certificate(
            properties["DomainName"], None, properties.get("SubjectAlternativeNames", []), []
        )

    return _model(
        "AWS::CertificateManager::Certificate",
        "moto.acm.models",
        request,
        update=lambda properties, account_id, region_name: None,
    )


def _stacks_fail_as_cloudformation_fails_them():
    """A resource moto refused with a JSON API's error (EventBridge's
    ValidationException for a target without its role, an
    AccessDeniedException from another account's bus) made CreateStack
    itself answer with that error, as JSON where CloudFormation speaks
    XML: no SDK could read it, and no stack was left to describe.
    CloudFormation creates the stack, fails the resource and rolls back,
    deleting what it made: the stack ends ROLLBACK_COMPLETE, an event
    giving the resource handler's message."""
    # changes: cloudformation:CreateStack
    from moto.cloudformation import models
    from moto.core.exceptions import JsonRESTError

    create = models.Stack.create_resources

    def create_resources(self):
        try:
            create(self)
        except JsonRESTError as e:
            reason = f'Resource handler returned message: "{e.message}"'
            self._add_stack_event("CREATE_FAILED", resource_status_reason=reason)
            # The rollback deletes what the stack made; what it cannot
            # delete stays, as a failed rollback leaves it.
            try:
                self.resource_map.delete()
            except Exception as left:
                print(f"devstack: {self.name}'s rollback left resources: {left}", file=sys.stderr)
            self.status = "ROLLBACK_COMPLETE"
            self._add_stack_event("ROLLBACK_COMPLETE", resource_status_reason=reason)

    models.Stack.create_resources = create_resources


def _stack_operations_one_at_a_time():
    """A local cloud creates its service stacks at once, and moto's server
    answers each CreateStack on a thread of its own, so two stacks' IAM
    roles were made at the same time: moto's CreateRole walks every role
    while another thread adds one ("dictionary changed size during
    iteration", seen once: the stack stayed CREATE_IN_PROGRESS and the
    strict test waiting for it failed). CloudFormation runs each stack's
    operation on its own; here they take turns, which costs nothing the
    interpreter's lock did not already serialise."""
    from moto.cloudformation import models

    operations = (
        "create_stack",
        "update_stack",
        "delete_stack",
        "create_change_set",
        "execute_change_set",
    )
    _take_turns(threading.RLock(), models.CloudFormationBackend, operations)


def _templates_read_as_json_first():
    """moto read every template with PyYAML's pure-Python loader, and as
    JSON only when that failed. The local cloud sends JSON (a service's
    translated template is 35-65 KB of it), which PyYAML took 90-280 ms
    to read, and moto reads a template at each stack's creation, update
    and change set, and twice more to compare one with the last: json
    takes under 2 ms. Text that opens as a JSON object is read as JSON,
    which also reads a number such as `1e3` as CloudFormation does (YAML
    1.1 reads it as text); anything else is read as YAML, as before."""
    import yaml as real

    from moto.cloudformation import models, responses

    class JsonFirst:
        def __getattr__(self, name):
            return getattr(real, name)

        @staticmethod
        def load(stream, Loader):
            if isinstance(stream, str) and stream.lstrip()[:1] == "{":
                try:
                    return json.loads(stream)
                except ValueError:
                    pass
            return real.load(stream, Loader=Loader)

    models.yaml = responses.yaml = JsonFirst()
