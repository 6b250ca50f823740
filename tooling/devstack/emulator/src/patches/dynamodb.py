# DynamoDB: transactions, queries, table writes and item answers.


def _cheap_transaction_backups():
    """TransactWriteItems keeps a backup of each table it names, to put
    back if the transaction is cancelled. moto 5.2 makes that backup with
    copy.deepcopy of the whole table, every item and stream record, on
    every call: a consumer's idempotent write cost time in proportion to
    its table, and the copies (cyclic, so left to the collector) took the
    server past 19 GB during a 1,000-recipient campaign.

    The backup here holds the same state for a fraction of the work: the
    table's own attributes, its item map with a deep copy of only the
    items the transaction names (no other item is written by it), and the
    stream's length. Put back, it is the table as it was, stream
    included, as moto's copy is. The backup's table is made without
    moto's model constructor, which keeps every instance it makes in a
    class-wide list for good: that list, not the collector, is what held
    on to each deep-copied table.

    The stream is not copied but cut back: the live shard stays the
    table's, without the cancelled records. moto's copy left an open
    iterator on the shard the transaction wrote to, cancelled records
    and all; a poller read them, then read on after their sequence
    numbers, which the next real records take (found: a todo's events
    never published while Schemathesis's cancelled transactions ran
    beside it)."""
    # changes: dynamodb:TransactWriteItems
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    keys = threading.local()

    def untracked_copy(model):
        twin = object.__new__(type(model))
        twin.__dict__.update(model.__dict__)
        return twin

    def snapshot(table):
        touched = getattr(keys, "by_table", {}).get(table.name, [])
        backup = untracked_copy(table)
        backup.items = defaultdict(dict, table.items)
        for hash_value, range_value in touched:
            if table.has_range_key:
                inner = dict(table.items.get(hash_value, {}))
                if range_value in inner:
                    inner[range_value] = copy.deepcopy(inner[range_value])
                backup.items[hash_value] = inner
            elif hash_value in table.items:
                backup.items[hash_value] = copy.deepcopy(table.items[hash_value])
        if table.stream_shard is not None:
            keys.shards[table.name] = (table.stream_shard, len(table.stream_shard.items))
        return backup

    class CopyModule:
        """moto's `copy` for the DynamoDB backend: tables named by the
        running transaction get the backup above, anything else the real
        deep copy."""

        def __getattr__(self, name):
            return getattr(copy, name)

        def deepcopy(self, value, memo=None):
            if isinstance(value, Table) and hasattr(keys, "by_table"):
                return snapshot(value)
            return copy.deepcopy(value, memo)

    def key_of(backend, op_type, op):
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            return None
        attrs = op["Item"] if op_type == "Put" else op.get("Key", {})
        if table.hash_key_attr not in attrs:
            return None
        range_attr = table.range_key_attr
        range_value = (
            DynamoType(attrs[range_attr]) if range_attr and range_attr in attrs else None
        )
        return table.name, (DynamoType(attrs[table.hash_key_attr]), range_value)

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        by_table = {}
        for item in transact_items:
            try:
                op_type, op = next(iter(item.items()))
                found = key_of(self, op_type, op)
            except (StopIteration, KeyError, TypeError, AttributeError):
                found = None
            if found:
                by_table.setdefault(found[0], []).append(found[1])
        keys.by_table = by_table
        keys.shards = {}
        try:
            return original(self, transact_items)
        except BaseException:
            for name, (shard, length) in keys.shards.items():
                del shard.items[length:]
                table = self.tables.get(name)
                if table is not None:
                    table.stream_shard = shard
                    shard.table = table
            raise
        finally:
            del keys.by_table
            del keys.shards

    models.copy = CopyModule()
    models.DynamoDBBackend.transact_write_items = transact_write_items


def _queries_read_their_partition():
    """A Query on a table (not an index) names one partition, yet moto 5.2
    sorts every item of the table (`Table.all_items`) and then keeps the
    ones of that partition: each consumer's read of its own few items cost
    time in proportion to the whole table. During such a query, all_items
    here lists only the partition asked for, sorted the same way, so the
    result is the same list."""
    # changes: dynamodb:Query
    from moto.dynamodb.models.table import Table

    partition = threading.local()
    all_items = Table.all_items
    query = Table.query

    def partition_items(self):
        hash_key = getattr(partition, "hash_key", None)
        if hash_key is None:
            return all_items(self)
        found = self.items.get(hash_key)
        if found is None:
            return []
        items = list(found.values()) if self.range_key_attr else [found]
        return sorted(
            items,
            key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key,
        )

    def partition_query(self, hash_key, *args, **kwargs):
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name is not None or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        partition.hash_key = hash_key
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            partition.hash_key = None

    Table.all_items = partition_items
    Table.query = partition_query


def _table_writes_one_at_a_time():
    """moto's server answers each request on a thread of its own, and a
    DynamoDB write checks its condition and then writes, with nothing
    between the two: two transactions that each put an event's processed
    record on condition it does not exist yet could both pass, and a
    cancelled one puts back a table copied before the other wrote (seen
    once a consumer ran in two environments at once: ops's DLQ test got
    two welcomes for one event, in 3 of 8 runs; 0 of 5 with the lock).
    DynamoDB serialises them; here every write takes one lock (a batch's
    item by item, as BatchWriteItem is not atomic on AWS either), so each
    condition holds when its write lands.

    The streams' reads take it too. A transaction appends its records to
    the stream as it goes and is cancelled only at its end, which puts the
    stream back and hands the same sequence numbers to the next writes: a
    reader that saw the cancelled records in between then reads on after
    a number the next real record takes, and skips it (found: a todo's
    events never published while Schemathesis's cancelled transactions
    ran beside it). On AWS a cancelled transaction never reaches the
    stream."""
    # changes: dynamodb:PutItem dynamodb:UpdateItem dynamodb:DeleteItem dynamodb:BatchWriteItem dynamodb:TransactWriteItems dynamodb:GetRecords
    from moto.dynamodb import models
    from moto.dynamodbstreams import models as streams

    lock = threading.RLock()
    writes = ("put_item", "update_item", "delete_item", "transact_write_items")
    _take_turns(lock, models.DynamoDBBackend, writes)
    _take_turns(lock, streams.DynamoDBStreamsBackend, ("get_shard_iterator", "get_records"))


def _item_answers_serialized_directly():
    """moto 5.2 writes every DynamoDB answer by walking botocore's model
    of it, value by value: each attribute of each item is a union whose
    member is picked by trying the shape's every key. Under `devstack load`
    that walk was a fifth of the engine's samples (py-spy), nearly all of
    it in the answers of Query, Scan, GetItem and BatchGetItem; behind a
    backlog of 300 notifications, the streams' GetRecords (two pollers
    reading every record's images) was 15% of them. Their results are
    already in the wire's shape (attribute values as `{"S": ...}`), so
    they are written with `json.dumps` as they are, with the content type
    the serializer gives: binary values (bytes, once parsed) in base64 as
    the serializer writes a blob, and a stream record's creation time in
    epoch seconds truncated to the millisecond, as the serializer writes
    a timestamp. Anything else `json.dumps` cannot write goes the
    serializer's way, as does every other operation and every error."""
    # changes: dynamodb:GetItem dynamodb:Query dynamodb:Scan dynamodb:BatchGetItem dynamodb:GetRecords
    import base64
    import calendar
    import datetime

    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    direct = {"Query", "Scan", "GetItem", "BatchGetItem", "GetRecords"}
    serialized = ActionResult.execute_result

    def wire(value):
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(value).decode()
        if isinstance(value, datetime.datetime):
            # moto's times are naive UTC; the serializer reads them so.
            seconds = calendar.timegm(value.utctimetuple())
            return seconds + (value.microsecond // 1000) / 1000.0 if value.microsecond else seconds
        raise TypeError(f"{type(value).__name__} is not JSON")

    def execute_result(self, context):
        if context.operation_model.name in direct:
            try:
                body = json.dumps(self.result, default=wire)
            except (TypeError, ValueError):
                return serialized(self, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return serialized(self, context)

    class StreamResult(ActionResult):
        pass

    get_records = DynamoDBStreamsHandler.get_records

    def get_records_directly(self):
        return StreamResult(get_records(self).result)

    DynamoResult.execute_result = execute_result
    StreamResult.execute_result = execute_result
    DynamoDBStreamsHandler.get_records = get_records_directly
