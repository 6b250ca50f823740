# moto's server as the local cloud runs it (`python -c` with this file),
# with measured changes to how it runs, none to what it answers.
import copy
import gc
import sys
import threading
from collections import defaultdict

# Python's cyclic collector runs less often: its full collections walk the
# whole heap (every stack, table and stream record the local cloud made)
# and stopped every call for up to 200 ms. Young garbage is still
# collected, and reference counting frees the rest as usual.
gc.set_threshold(100000, 50, 100)


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
    stream records so far. Put back, it is the table as it was, stream
    included, as moto's copy is. The backup's table and shard are made
    without moto's model constructor, which keeps every instance it makes
    in a class-wide list for good: that list, not the collector, is what
    held on to each deep-copied table."""
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
            backup.stream_shard = untracked_copy(table.stream_shard)
            backup.stream_shard.items = list(table.stream_shard.items)
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
        try:
            return original(self, transact_items)
        finally:
            del keys.by_table

    models.copy = CopyModule()
    models.DynamoDBBackend.transact_write_items = transact_write_items


def _queries_read_their_partition():
    """A Query on a table (not an index) names one partition, yet moto 5.2
    sorts every item of the table (`Table.all_items`) and then keeps the
    ones of that partition: each consumer's read of its own few items cost
    time in proportion to the whole table. During such a query, all_items
    here lists only the partition asked for, sorted the same way, so the
    result is the same list."""
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


_cheap_transaction_backups()
_queries_read_their_partition()

from moto.server import main  # noqa: E402

sys.exit(main())
