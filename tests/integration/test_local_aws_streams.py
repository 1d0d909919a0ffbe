"""The local AWS (moto behind local/moto_server.py): a stream reader goes on reading after a transaction
is cancelled, and the cancelled transaction leaves neither its items nor a stream record, as on AWS."""

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.aws import clients
from local.environment import REGION


def _records(streams: Any, iterator: str) -> tuple[list[str], str]:
    answer = streams.get_records(ShardIterator=iterator, Limit=1000)
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in answer["Records"]], answer["NextShardIterator"]


def test_a_cancelled_transaction_does_not_cut_a_stream_reader_off(moto_endpoint: str) -> None:
    aws = clients(moto_endpoint, REGION)
    dynamodb, streams = aws["dynamodb"], aws["dynamodbstreams"]
    table = f"streams-{uuid.uuid4().hex[:8]}"
    stream = dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "first"}})
    read, iterator = _records(streams, iterator)
    assert read == ["first"]

    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "rolled back"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "missing"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "after"}})

    read, _ = _records(streams, iterator)
    assert read == ["after"]
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"pk": {"S": "rolled back"}})
