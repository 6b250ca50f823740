# The server: hosts, logs and dispatch; the changes installed, in
# order; the warm engine that serves forks.


def _hosts_matched_without_listing_moto():
    """moto's dispatcher matched every request's host against the list of
    its service packages, and made that list each time: a listing of its
    own folder and a stat of each of its entries (182 in moto 5.2.5) per
    request: about a twentieth of the samples py-spy took of moto in a
    test run. The folder does not change while the server runs, so it is
    listed once."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def _requests_not_logged():
    """werkzeug logged every request, to a stream the local cloud discards,
    behind a lock every request thread takes (3% of those samples in a
    test run). Errors are still logged."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def _dispatch_reads_method_names_once():
    """moto finds a request's handler by listing its response class's
    methods with `inspect.getmembers`, on every request: 2% of the
    engine's samples over the cross-service tests (py-spy). A class's
    methods never change while it serves, so each class is listed once;
    the handler found is the same."""
    import functools

    from moto.core import responses

    responses.method_names_from_class = functools.cache(responses.method_names_from_class)


_bus_log_pending = threading.local()
_judge_connection = threading.local()
_cheap_transaction_backups()
_dispatch_reads_method_names_once()
_item_answers_serialized_directly()
_table_writes_one_at_a_time()
_stack_operations_one_at_a_time()
_templates_read_as_json_first()
_queries_read_their_partition()
_receives_read_retention_directly()
_visible_messages_read_the_clock_once()
_deletes_take_the_queue_lock()
_test_event_pattern()
_bus_log_from_cloudformation()
_bus_log_config_by_api()
_one_matcher()
_input_paths_parsed_once()
_sends_do_not_count_the_queue()
_queues_count_what_is_sent()
_signing_keys_made_once()
_replays_keep_to_their_window_and_rules()
_role_policies_as_json()
_role_managed_policies_from_cloudformation()
_lambda_permissions_from_cloudformation()
_lambda_principals_as_aws_writes_them()
_tasks_name_their_execution_role()
_key_policies_as_json()
_queue_policies_from_cloudformation()
_bucket_policies_from_cloudformation()
_bucket_policies_judged_by_the_local_cloud()
_certificates_from_cloudformation()
_bucket_cors_from_cloudformation()
_bus_policies_from_cloudformation()
_buses_referenced_by_name()
_bucket_notifications_from_the_buckets_account()
_rules_read_from_a_snapshot()
_buses_in_their_owners_accounts()
_stacks_fail_as_cloudformation_fails_them()
_disabled_rules_deliver_nothing()
_sns_asks_before_it_delivers_to_a_queue()
_hosts_matched_without_listing_moto()
_requests_not_logged()
_federated_users()
_managed_login_tokens()
_confirmation_verifies_the_email()
_user_pool_calls_one_at_a_time()


# The backends the local cloud's stacks and tests call, made in the engine
# so that no cloud forked from it imports or builds them again.
WARM_BACKENDS = (
    "acm",
    "cloudformation",
    "cloudwatch",
    "cognito-idp",
    "dynamodb",
    "dynamodbstreams",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "moto_api",
    "route53",
    "s3",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "stepfunctions",
    "sts",
)


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _end_with(pid):
    """A server ends with the process it serves: test binaries exit
    without running destructors, and a server busy in a request would
    outlive a polite signal."""
    import time

    while _alive(pid):
        time.sleep(0.5)
    os._exit(0)


def _serve_one(app, conn, kept):
    """In a forked child: reads what the caller asked for (its pid and the
    server's environment), binds a free loopback port, answers with it
    (and with `kept`, what the cloud that deployed this state said of it,
    when the fork is of a kept state), and serves until the caller is
    gone. The port is bound before the answer, so no other process can
    take it in between."""
    from moto.server import MotoRequestHandler
    from werkzeug.serving import make_server

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    request = json.loads(conn.makefile("r").readline())
    os.environ.update(request.get("env", {}))
    server = make_server(
        "127.0.0.1", 0, _Keeping(app), threaded=True, request_handler=MotoRequestHandler
    )
    _Keeping.server = server
    os.environ.setdefault("MOTO_PORT", str(server.server_port))
    answer = {"port": server.server_port, "pid": os.getpid(), "kept": kept}
    conn.sendall((json.dumps(answer) + "\n").encode())
    conn.close()
    threading.Thread(target=_end_with, args=(request["owner"],), daemon=True).start()
    server.serve_forever()


class _Keeping:
    """The server's application: moto's, and `POST /devstack/keep`, which
    keeps this server's state as it is now for later clouds: a copy of
    the process (a fork, made from the request's own thread, so nothing
    else runs in it) serves forks of that state on the socket the body
    names, as the engine serves forks of its own. The local cloud asks
    right after its deploy, before any function runs, so no other request
    is in flight (none holds a lock the copy would inherit held). The
    copy ends with the engine."""

    server = None

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != "/devstack/keep" or environ["REQUEST_METHOD"] != "POST":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length))
        engine = os.getppid()
        if os.fork() == 0:
            try:
                self.server.socket.close()
                environ["werkzeug.socket"].close()
                _serve_forks(self.app, body["socket"], engine, body.get("kept"))
            finally:
                os._exit(0)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"socket": body["socket"]}).encode()]


def _serve_forks(app, path, owner, kept=None):
    """Serves a fork of this process per request on the Unix socket
    `path`, until `owner` exits. The socket is bound and listening under
    another name, then renamed: its path exists only once it accepts, so
    a caller waits for the path and never probes with a connection
    (which would make a fork)."""
    # What is here now stays: the collector never walks it again, here or
    # in any fork, and the forks' pages stay shared.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    unready = f"{path}.binding.{os.getpid()}"
    if os.path.exists(unready):
        os.unlink(unready)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(unready)
    listener.listen(64)
    os.rename(unready, path)
    mine = os.stat(path).st_ino
    try:
        while _alive(owner):
            ready, _, _ = select.select([listener], [], [], 0.5)
            if not ready:
                continue
            conn, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                try:
                    _serve_one(app, conn, kept)
                finally:
                    os._exit(1)
            conn.close()
    finally:
        listener.close()
        # Only ours: a later copy may have taken the path since.
        try:
            if os.stat(path).st_ino == mine:
                os.unlink(path)
        except OSError:
            pass


def _engine(path, owner):
    """The engine: moto, its patches and its backends imported and built
    once (about 1.3 CPU-seconds), then one forked server per request on a
    Unix socket. A fork shares nothing with its siblings after the fork:
    each cloud's state is its own process's memory."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        create_backend_app,
    )

    from moto.core.utils import get_service_model

    app = DomainDispatcherApplication(create_backend_app)
    for backend in WARM_BACKENDS:
        app.app_instances[backend] = app.create_app(backend)
        # botocore's model of the service, which moto's serializer reads
        # for every answer: 20-30 ms to load each, cached per process, so
        # loaded here once instead of in every fork (2.8% of the samples
        # of a test run's forks).
        if backend != "moto_api":
            get_service_model(backend)
    _serve_forks(app, path, owner)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the local cloud's engine")
    parser.add_argument("--socket", required=True, help="the Unix socket to serve forks on")
    parser.add_argument("--owner", required=True, type=int, help="the engine ends with this pid")
    arguments = parser.parse_args()
    _engine(arguments.socket, arguments.owner)
